"""A tool function's signature as a JSON Schema, and checks of declared ``parameters`` against it.

The model calls tools with keyword arguments. The context parameter receives the call context
and is not shown to the model: a parameter named ``context`` anywhere, or a first parameter named
``ctx`` or annotated ``RunContextWrapper`` / ``ToolContext`` / ``CallContext`` (the SDK's rule).
Descriptions come from ``Annotated`` hints, else from the docstring: its first paragraph describes
the tool, Google-style ``Args:`` lines describe the properties. Type hints → JSON Schema:
:mod:`.typeschema`.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from .typeschema import SchemaBuilder, UnsupportedHint, needs_conversion

__all__ = ("CONTEXT_TYPES", "ToolSignature", "UnsupportedHint", "check_declared", "context_parameter",
           "describe_function", "positional_only", "signature_of", "verdict_annotation_problem")

CONTEXT_TYPES = ("RunContextWrapper", "ToolContext", "CallContext")
"""Class names whose annotation marks a tool's first parameter as the call context."""

_ARG_LINE = re.compile(r"^\s*(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)\s*:\s*$")


class ToolSignature(typing.NamedTuple):
    """What a tool function shows the model, and how it is called."""

    description: str
    parameters: dict[str, Any]
    takes_context: bool
    context_param: str | None = None
    """The parameter that receives the call context (``context``, ``ctx``, ...), if any."""
    conversions: Mapping[str, Any] = {}
    """Parameters whose JSON values are converted into their type (dataclass, pydantic model)."""


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """(first paragraph, {argument: description}) from a Google-style docstring."""
    summary_lines: list[str] = []
    args: dict[str, list[str]] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for line in (inspect.getdoc(fn) or "").splitlines():
        header = _SECTION.match(line)
        if header:
            section, current, arg_indent = header.group(1), None, None
            continue
        if section is None:
            if not line.strip() and summary_lines:
                section = ""  # end of the first paragraph
            elif line.strip():
                summary_lines.append(line.strip())
            continue
        if section not in ("Args", "Arguments", "Parameters") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line)
        if match and (arg_indent is None or indent <= arg_indent):
            arg_indent, current = indent, match.group(1).lstrip("*")
            args[current] = [match.group(2).strip()]
        elif current is not None:
            args[current].append(line.strip())
    described = {name: " ".join(p for p in parts if p) for name, parts in args.items()}
    return " ".join(summary_lines), described


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # an unresolvable forward reference: resolve the others one by one
        pass
    hints: dict[str, Any] = {}
    namespace = getattr(fn, "__globals__", {})
    for name, annotation in dict(getattr(fn, "__annotations__", {})).items():
        try:
            hints[name] = typing.get_type_hints(_Holder(name, annotation), namespace, include_extras=True)[name]
        except Exception:  # e.g. `ctx: RunContextWrapper` without the SDK: stays the string
            hints[name] = annotation
    return hints


class _Holder:
    """One annotation on its own, for ``typing.get_type_hints``."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


def signature_of(fn: Callable[..., Any]) -> inspect.Signature | None:
    """``fn``'s signature, or None when it has none to introspect (some builtins, e.g. ``max``)."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _is_context_hint(hint: Any) -> bool:
    if isinstance(hint, str):  # an unresolved annotation: compare the class name it spells
        return hint.partition("[")[0].rpartition(".")[2] in CONTEXT_TYPES
    hint = typing.get_origin(hint) or hint
    return isinstance(hint, type) and hint.__name__ in CONTEXT_TYPES


def context_parameter(signature: inspect.Signature, hints: Mapping[str, Any] | None = None) -> str | None:
    """The parameter that receives the call context: one named ``context``, else a first parameter
    named ``ctx`` or annotated with a context class (:data:`CONTEXT_TYPES`); None when there is none."""
    params = list(signature.parameters.values())
    if "context" in signature.parameters:
        return "context"
    if not params or params[0].kind in (params[0].VAR_POSITIONAL, params[0].VAR_KEYWORD):
        return None
    first = params[0]
    hint = (hints or {}).get(first.name, first.annotation)
    return first.name if first.name == "ctx" or _is_context_hint(hint) else None


def describe_function(fn: Callable[..., Any], signature: inspect.Signature | None = None) -> ToolSignature:
    """Description, derived parameters schema and how the context is taken.

    ``signature`` is ``fn``'s, when the caller already has it. Raises :class:`UnsupportedHint`
    naming the parameter whose type hint has no JSON form.
    """
    if signature is None:
        signature = inspect.signature(fn)
    hints = _hints(fn)
    summary, arg_docs = _docstring(fn)
    builder = SchemaBuilder()
    properties: dict[str, Any] = {}
    required: list[str] = []
    conversions: dict[str, Any] = {}
    context_param = context_parameter(signature, hints)
    for name, param in signature.parameters.items():
        if name == context_param or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(name, param.annotation)
        try:
            prop = builder.schema(hint)
        except UnsupportedHint as exc:
            raise UnsupportedHint(f"parameter {name!r}: {exc}") from None
        except TypeError:  # an annotation that is no type at all (e.g. the unhashable `x: [int]`)
            raise UnsupportedHint(f"parameter {name!r}: {hint!r}") from None
        if name in arg_docs and "description" not in prop:
            prop["description"] = arg_docs[name]
        properties[name] = prop
        if needs_conversion(hint):
            conversions[name] = hint
        if param.default is param.empty:
            required.append(name)
    parameters = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": False}
    if builder.defs:
        parameters["$defs"] = builder.defs
    return ToolSignature(summary, parameters, context_param is not None, context_param, conversions)


def positional_only(signature: inspect.Signature) -> list[str]:
    """Required positional-only parameters: a tool called with keyword arguments cannot fill them."""
    return [n for n, p in signature.parameters.items() if p.kind is p.POSITIONAL_ONLY and p.default is p.empty]


def check_declared(signature: inspect.Signature, declared: Mapping[str, Any],
                   context_param: str | None = "context") -> list[tuple[str, str]]:
    """Disagreements between declared ``parameters`` and a function's signature: (property or "", message)."""
    params = signature.parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    keyword_ok = {n for n, p in params.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != context_param}
    properties = declared.get("properties") or {}
    required = set(declared.get("required") or ())
    problems: list[tuple[str, str]] = []
    for prop in properties:
        if prop not in keyword_ok and not accepts_any:
            problems.append((prop, f"declares {prop!r} but the function has no such keyword parameter "
                                   f"(signature {signature})"))
    for name in sorted(keyword_ok):
        if params[name].default is not params[name].empty:
            continue
        if name not in properties:
            problems.append(("", f"the function requires {name!r} but parameters do not declare it"))
        elif name not in required:
            problems.append((name, f"{name!r} has no default in the function but is not in `required`"))
    return problems


def _is_verdict_hint(hint: Any) -> bool:
    from ..graph.model import GuardrailResult

    if hint in (Any, object, bool, None, type(None), GuardrailResult):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_is_verdict_hint(h) for h in typing.get_args(hint))
    if origin is typing.Annotated:
        return _is_verdict_hint(typing.get_args(hint)[0])
    if isinstance(hint, type):  # an object with tripwire_triggered (e.g. the SDK's GuardrailFunctionOutput)
        return hasattr(hint, "tripwire_triggered") or any(
            "tripwire_triggered" in getattr(k, "__annotations__", {}) for k in hint.__mro__)
    return False


def verdict_annotation_problem(fn: Callable[..., Any]) -> str | None:
    """The return annotation of a guardrail entrypoint, as text, when it is not a verdict type
    (``GuardrailResult``, ``bool``, ``None``, an object with ``tripwire_triggered``, or unions of
    them); None when it is one, or absent, or cannot be resolved."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references, builtins: nothing to say
        return None
    if "return" not in hints or _is_verdict_hint(hints["return"]):
        return None
    hint = hints["return"]
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
