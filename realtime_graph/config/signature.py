"""A tool function's signature as a JSON Schema, and checks of declared ``parameters`` against it.

The model calls tools with keyword arguments; a parameter named ``context`` receives the call
context and is not shown to the model. Descriptions come from the docstring: its first paragraph
describes the tool, Google-style ``Args:`` lines describe the properties.
"""

from __future__ import annotations

import enum
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ("ToolSignature", "UnsupportedHint", "check_declared", "describe_function", "positional_only",
           "signature_of", "verdict_annotation_problem")

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARG_LINE = re.compile(r"^\s*(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)\s*:\s*$")


class UnsupportedHint(Exception):
    """A type hint we cannot express as JSON Schema (the user should declare ``parameters``)."""


class ToolSignature(typing.NamedTuple):
    description: str
    parameters: dict[str, Any]
    takes_context: bool


def _json_values(name: str, values: list[Any]) -> list[Any]:
    """Enum / Literal values as the model will see them: only JSON scalars (str, int, finite
    float, bool, None) survive ``session.update``; anything else is an unsupported hint."""
    for value in values:
        if value is not None and type(value) not in (str, int, float, bool):
            raise UnsupportedHint(f"{name} (value of type {type(value).__name__} is not JSON)")
        if isinstance(value, float) and not math.isfinite(value):
            raise UnsupportedHint(f"{name} (value {value!r} is not JSON)")
        if isinstance(value, str) and not value.isprintable() and any("\ud800" <= c <= "\udfff" for c in value):
            raise UnsupportedHint(f"{name} (a value holds a lone surrogate)")
    return values


def _schema(hint: Any) -> dict[str, Any]:
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if hint is type(None):
        return {"type": "null"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": _json_values(hint.__name__, [m.value for m in hint])}
    if hint in (list, tuple, set, frozenset):
        return {"type": "array"}
    if hint is dict:
        return {"type": "object"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        kinds = {_SCALARS.get(type(a)) for a in args}
        out: dict[str, Any] = {"enum": _json_values(repr(hint), list(args))}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        inner = _schema(members[0]) if len(members) == 1 else {"anyOf": [_schema(m) for m in members]}
        if len(members) == len(args):
            return inner
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin in (list, tuple, set, frozenset):
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise UnsupportedHint(f"fixed-length tuple {hint!r}")
        return {"type": "array", "items": _schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        if args and args[0] is not str:
            raise UnsupportedHint(f"{hint!r} (JSON object keys are strings)")
        return {"type": "object", "additionalProperties": _schema(args[1])} if args else {"type": "object"}
    raise UnsupportedHint(getattr(hint, "__name__", None) or repr(hint))


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
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def signature_of(fn: Callable[..., Any]) -> inspect.Signature | None:
    """``fn``'s signature, or None when it has none to introspect (some builtins, e.g. ``max``)."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def describe_function(fn: Callable[..., Any], signature: inspect.Signature | None = None) -> ToolSignature:
    """Description, derived parameters schema and whether ``context`` is taken.

    ``signature`` is ``fn``'s, when the caller already has it. Raises :class:`UnsupportedHint`
    naming the parameter whose type hint has no JSON form.
    """
    if signature is None:
        signature = inspect.signature(fn)
    hints = _hints(fn)
    summary, arg_docs = _docstring(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    takes_context = False
    for name, param in signature.parameters.items():
        if name == "context":
            takes_context = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(name, param.annotation)
        try:
            prop = _schema(hint)
        except UnsupportedHint as exc:
            raise UnsupportedHint(f"parameter {name!r}: {exc}") from None
        except TypeError:  # an annotation that is no type at all (e.g. the unhashable `x: [int]`)
            raise UnsupportedHint(f"parameter {name!r}: {hint!r}") from None
        if name in arg_docs:
            prop["description"] = arg_docs[name]
        properties[name] = prop
        if param.default is param.empty:
            required.append(name)
    parameters = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": False}
    return ToolSignature(summary, parameters, takes_context)


def positional_only(signature: inspect.Signature) -> list[str]:
    """Required positional-only parameters: a tool called with keyword arguments cannot fill them."""
    return [n for n, p in signature.parameters.items() if p.kind is p.POSITIONAL_ONLY and p.default is p.empty]


def check_declared(signature: inspect.Signature, declared: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Disagreements between declared ``parameters`` and a function's signature: (property or "", message)."""
    params = signature.parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    keyword_ok = {n for n, p in params.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "context"}
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
