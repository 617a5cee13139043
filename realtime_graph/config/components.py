"""Build the parts agents and the graph share: tools, output guardrails, hooks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..graph.model import Entrypoint, Guardrail, Hooks, Tool, freeze
from .callshapes import call_adapter, is_async_callable, tool_adapter
from .durations import parse_duration
from .entrypoints import EntrypointResolver
from .issues import IssueSink
from .schema import check_json_schema
from .sdk_objects import function_tool_parts, hook_methods, sdk_kind
from .signature import (
    UnsupportedHint,
    check_declared,
    context_parameter,
    describe_function,
    positional_only,
    signature_of,
)
from .typeschema import SchemaBuilder, convert, is_model_type, is_pydantic_model, strict_schema
from .yamlsource import Document, JsonPath

__all__ = ("MAX_REGEX_CHARS", "MAX_REGEX_NESTING", "build_guardrails", "build_handoff_callback", "build_hooks",
           "build_tool", "compile_deny")

_HOOKS = ("on_agent_start", "on_agent_end", "on_tool_start", "on_tool_end", "on_handoff")
_HOOK_ROLES = {**{h: h for h in _HOOKS}, "on_handoff": "on_handoff_hook"}
_OPEN_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": True}


def build_tool(raw: Mapping[str, Any], doc: Document, path: JsonPath, resolver: EntrypointResolver,
               sink: IssueSink) -> Tool | None:
    """A :class:`Tool`, or None when any part of it is invalid (issues recorded)."""
    ref = raw["entrypoint"]
    entrypoint = resolver.resolve(ref, doc, (*path, "entrypoint"))
    declared = raw.get("parameters")
    if declared is not None and not check_json_schema(declared, doc, (*path, "parameters"), sink):
        return None
    raw_approval: bool | str | None = raw.get("needs_approval")
    approval: bool | Entrypoint | None = raw_approval if isinstance(raw_approval, bool) else False
    if isinstance(raw_approval, str):
        approval = resolver.resolve(raw_approval, doc, (*path, "needs_approval"), "needs_approval")
    timeout: float | None = None
    if "timeout" in raw:
        try:
            timeout = parse_duration(raw["timeout"])
        except ValueError as exc:
            sink.add("RG506", str(exc), doc, (*path, "timeout"), hint="e.g. 500ms, 5s, 1.5s or 2m")
            return None
    if entrypoint is None or approval is None:
        return None
    if sdk_kind(entrypoint.target) == "function_tool":
        return _sdk_tool(raw, entrypoint, declared, approval if raw_approval is not None else None, timeout)
    description = raw.get("description")
    parameters: Mapping[str, Any] = declared if declared is not None else _OPEN_PARAMETERS
    fn = entrypoint.target
    takes_context = False
    # one signature serves every check; None (no target under --no-import, or a builtin without
    # an introspectable signature) skips them: the declared or open parameters stand as written
    signature = signature_of(fn) if fn is not None else None
    if signature is not None and fn is not None:
        try:
            derived = describe_function(fn, signature)
        except UnsupportedHint as exc:
            if declared is None:
                sink.add("RG307", f"cannot derive tool parameters from {ref!r}: unsupported type hint for {exc}",
                         doc, (*path, "entrypoint"),
                         hint="use str, int, float, bool, list[...], dict, Literal, Enum, Optional, a dataclass, "
                              "TypedDict or pydantic model, or declare `parameters`")
                return None
            derived = None
        context_param = derived.context_param if derived is not None else context_parameter(signature)
        blocked = [name for name in positional_only(signature) if name != context_param]
        if blocked:
            sink.add("RG305", f"tool entrypoint {ref!r} is called with keyword arguments; positional-only "
                     f"parameter {blocked[0]!r} cannot receive one", doc, (*path, "entrypoint"),
                     hint="remove the `/` from the signature")
            return None
        if derived is not None:
            description = description if description is not None else derived.description
            if declared is None:
                parameters = derived.parameters
        if declared is not None:
            problems = check_declared(signature, declared, context_param)
            for prop, message in problems:
                where = (*path, "parameters", "properties", prop) if prop in declared.get("properties", {}) \
                    else (*path, "parameters")
                sink.add("RG306", message, doc, where,
                         hint="make `parameters` match the function, or drop `parameters` to derive them")
            if problems:
                return None
        takes_context = context_param is not None
        param = signature.parameters.get(context_param or "")
        positional = param is not None and param.kind is param.POSITIONAL_ONLY
        adapter = tool_adapter(fn, ref, context_param, positional, derived.conversions if derived else {})
        convention = "fn(**arguments)" + (f" with {context_param!r} = the call context" if takes_context else "")
        entrypoint = replace(entrypoint, target=adapter, convention=convention)
    return Tool(
        name=raw.get("name") or ref.rpartition(":")[2].rpartition(".")[2],
        description=description or "",
        parameters=freeze(parameters),
        entrypoint=entrypoint,
        needs_approval=approval,
        timeout=timeout,
        takes_context=takes_context,
        location=entrypoint.location,
    )


def _sdk_tool(raw: Mapping[str, Any], entrypoint: Entrypoint, declared: Mapping[str, Any] | None,
              approval: bool | Entrypoint | None, timeout: float | None) -> Tool:
    """A ``FunctionTool``: name, description and schema from the object unless the YAML sets
    them; its own ``needs_approval`` unless the YAML sets one."""
    parts = function_tool_parts(entrypoint.target, entrypoint.ref)
    if approval is None:
        approval = parts.needs_approval if isinstance(parts.needs_approval, bool) else Entrypoint(
            ref=f"{entrypoint.ref}.needs_approval", target=parts.needs_approval,
            is_async=is_async_callable(parts.needs_approval),
            location=entrypoint.location, convention="FunctionTool.needs_approval (SDK): fn(context, params, call_id)")
    enabled_when = None if isinstance(parts.enabled, bool) else Entrypoint(
        ref=f"{entrypoint.ref}.is_enabled", target=parts.enabled, is_async=is_async_callable(parts.enabled),
        location=entrypoint.location, convention="FunctionTool.is_enabled (SDK): fn(context, agent)")
    return Tool(
        name=raw.get("name") or parts.name,
        description=raw.get("description") or parts.description,
        parameters=freeze(declared if declared is not None else parts.parameters),
        entrypoint=replace(entrypoint, target=parts.call),
        needs_approval=approval,
        timeout=timeout,
        takes_context=True,
        location=entrypoint.location,
        enabled=parts.enabled is not False,
        enabled_when=enabled_when,
    )


def build_guardrails(raws: list[Mapping[str, Any]], doc: Document, base: JsonPath,
                     resolver: EntrypointResolver, sink: IssueSink) -> tuple[Guardrail, ...]:
    """Output guardrails: an entrypoint, or a ``deny`` list of regexes compiled now."""
    out: list[Guardrail] = []
    for index, raw in enumerate(raws):
        path = (*base, index)
        if ("entrypoint" in raw) == ("deny" in raw):
            sink.add("RG110", "a guardrail needs exactly one of `entrypoint` or `deny`", doc, path,
                     hint="e.g. {deny: ['(?i)password']} or {entrypoint: 'my_guards:no_pii'}")
            continue
        if "entrypoint" in raw:
            entrypoint = resolver.resolve(raw["entrypoint"], doc, (*path, "entrypoint"), "guardrail")
            if entrypoint is not None:
                # an OutputGuardrail's adapter carries its get_name()
                default = getattr(entrypoint.target, "__name__", None) if entrypoint.convention.startswith(
                    "OutputGuardrail") else None
                out.append(Guardrail(name=raw.get("name", default or raw["entrypoint"]), entrypoint=entrypoint,
                                     location=entrypoint.location))
            continue
        patterns = []
        for i, pattern in enumerate(raw["deny"]):
            compiled = compile_deny(pattern, doc, (*path, "deny", i), sink)
            if compiled is not None:
                patterns.append(compiled)
        if len(patterns) == len(raw["deny"]):
            out.append(Guardrail(name=raw.get("name", "deny"), deny=tuple(patterns),
                                 location=doc.source_location(path)))
    return tuple(out)


MAX_REGEX_CHARS = 2000
"""Longest ``deny`` pattern accepted (RG210)."""
MAX_REGEX_NESTING = 20
"""Deepest group nesting of a ``deny`` pattern accepted (RG210)."""


def _group_depth(pattern: str) -> int:
    depth = deepest = 0
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
    return deepest


def compile_deny(pattern: str, doc: Document, path: JsonPath, sink: IssueSink) -> re.Pattern[str] | None:
    """One ``deny`` pattern compiled, or None with RG209 (invalid) / RG210 (too large) recorded.

    The size and nesting bounds come first: ``re`` compiles deeply nested groups recursively
    (RecursionError) and huge repeat counts overflow (OverflowError).
    """
    hint = "Python `re` syntax; quote the pattern in YAML"
    if len(pattern) > MAX_REGEX_CHARS or _group_depth(pattern) > MAX_REGEX_NESTING:
        sink.add("RG210", f"regular expression is too large: at most {MAX_REGEX_CHARS} characters and "
                 f"{MAX_REGEX_NESTING} nested groups", doc, path, hint="split it into several `deny` entries")
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        sink.add("RG209", f"invalid regular expression: {exc.msg} at position {exc.pos}", doc, path, hint=hint)
    except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
        sink.add("RG209", f"invalid regular expression: {exc}", doc, path,
                 hint="repeat counts must be below 4294967295")
    return None


def build_hooks(raw: Mapping[str, Any] | str, doc: Document, base: JsonPath, resolver: EntrypointResolver) -> Hooks:
    """Lifecycle hooks: a mapping of hook name → entrypoint (``fn(event)`` or the SDK's shape), or a
    string naming a hooks object whose SDK-named methods become the hooks."""
    if isinstance(raw, str):
        return _hooks_object(raw, doc, base, resolver, resolver.sink)
    resolved = {name: resolver.resolve(raw[name], doc, (*base, name), _HOOK_ROLES[name])
                for name in _HOOKS if name in raw}
    return Hooks(**resolved)


def _is_sdk_hooks(obj: object) -> bool:
    return any(cls.__module__.startswith("agents.") and "Hooks" in cls.__name__ for cls in type(obj).__mro__)


def _hooks_object(ref: str, doc: Document, path: JsonPath, resolver: EntrypointResolver, sink: IssueSink) -> Hooks:
    found = resolver.lookup(ref, doc, path)
    if found is None or not resolver.import_modules:
        return Hooks()
    try:
        methods = hook_methods(found.target, ref)
    except Exception as exc:  # user objects may raise from properties
        sink.add("RG303", f"reading hooks object {ref!r} failed: {type(exc).__name__}: {exc}", doc, path)
        return Hooks()
    if not methods:
        if _is_sdk_hooks(found.target):  # an SDK hooks subclass that overrides nothing: valid, does nothing
            return Hooks()
        sink.add("RG304", f"{ref!r} defines no hook methods: it is of type {type(found.target).__name__}", doc, path,
                 hint="define on_agent_start, on_agent_end, on_tool_start, on_tool_end or on_handoff "
                      "(RunHooks), or on_start, on_end, ... (AgentHooks); or write hooks as a mapping")
        return Hooks()
    resolved: dict[str, Entrypoint] = {}
    for method in methods:
        signature = signature_of(getattr(found.target, method.method))
        try:
            if signature is not None:
                signature.bind(*range(method.arity))
        except TypeError:
            sink.add("RG305", f"hooks object {ref!r}: method {method.method} must be callable as "
                     f"{method.method}{method.arguments}; its signature is {signature}",
                     doc, path, hint="hooks objects use the SDK's method signatures (context first)")
            continue
        resolved[method.hook] = Entrypoint(
            ref=f"{ref}.{method.method}", target=method.call, is_async=method.is_async, location=found.location,
            convention=f"{method.method}{method.arguments} (SDK)", takes_context=True)
    return Hooks(**resolved)



def build_handoff_callback(spec: Mapping[str, Any], doc: Document, path: JsonPath, resolver: EntrypointResolver
                           ) -> tuple[bool, Entrypoint | None, Mapping[str, Any] | None]:
    """A handoff's ``on_handoff`` and ``input_type``: ``(ok, on_handoff, parameters)``.

    With ``input_type`` (a dataclass, TypedDict or pydantic model) its schema is the handoff tool's
    parameters and ``on_handoff`` is ``fn(context, input)``, behind an adapter that converts the
    model's arguments into the type (raising = no handoff); without it, ``fn(context)``.
    """
    sink = resolver.sink
    if "input_type" not in spec:
        if "on_handoff" not in spec:
            return True, None, None
        entrypoint = resolver.resolve(spec["on_handoff"], doc, (*path, "on_handoff"), "on_handoff")
        return entrypoint is not None, entrypoint, None
    ref = spec["input_type"]
    found = resolver.lookup(ref, doc, (*path, "input_type"))
    if "on_handoff" not in spec:
        sink.add("RG310", "a handoff with `input_type` needs `on_handoff` to receive the input", doc,
                 (*path, "input_type"), hint="add on_handoff: module:function taking (context, input)")
        return False, None, None
    entrypoint = resolver.resolve(spec["on_handoff"], doc, (*path, "on_handoff"), "on_handoff_input")
    if found is None or entrypoint is None:
        return False, None, None
    input_type = found.target
    if not resolver.import_modules:
        return True, entrypoint, _OPEN_PARAMETERS
    if not is_model_type(input_type):
        what = f"the class {input_type.__name__}" if isinstance(input_type, type) else \
            f"of type {type(input_type).__name__}"
        sink.add("RG310", f"input_type {ref!r} is not a dataclass, TypedDict or pydantic model: it is {what}",
                 doc, (*path, "input_type"), hint="name a class decorated with @dataclass, a TypedDict or a "
                 "pydantic BaseModel subclass")
        return False, None, None
    builder = SchemaBuilder()
    try:
        parameters = builder.schema(input_type)
    except UnsupportedHint as exc:
        sink.add("RG310", f"cannot derive the handoff parameters from input_type {ref!r}: {exc}", doc,
                 (*path, "input_type"), hint="use JSON-friendly field types (str, int, float, bool, lists, ...)")
        return False, None, None
    if builder.defs:
        parameters = {**parameters, "$defs": builder.defs}
    if is_pydantic_model(input_type):  # as the SDK's realtime_handoff sends it
        parameters = strict_schema(parameters)
    user_fn = entrypoint.target
    assert user_fn is not None

    def translate(context: Any, arguments: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (context, convert(input_type, arguments)), {}

    adapter = call_adapter(user_fn, translate, ref.partition(":")[0], ref.rpartition(":")[2])
    return True, replace(entrypoint, target=adapter, convention=f"fn(context, input: {input_type.__name__})"), \
        parameters
