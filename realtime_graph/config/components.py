"""Build the parts agents and the graph share: tools, output guardrails, hooks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..graph.model import Entrypoint, Guardrail, Hooks, Tool, freeze
from .durations import parse_duration
from .entrypoints import EntrypointResolver
from .issues import IssueSink
from .schema import check_json_schema
from .signature import UnsupportedHint, check_declared, describe_function, positional_only, signature_of
from .yamlsource import Document, JsonPath

__all__ = ("MAX_REGEX_CHARS", "MAX_REGEX_NESTING", "build_guardrails", "build_hooks", "build_tool", "compile_deny")

_HOOKS = ("on_agent_start", "on_agent_end", "on_tool_start", "on_tool_end", "on_handoff")
_OPEN_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": True}


def build_tool(raw: Mapping[str, Any], doc: Document, path: JsonPath, resolver: EntrypointResolver,
               sink: IssueSink) -> Tool | None:
    """A :class:`Tool`, or None when any part of it is invalid (issues recorded)."""
    ref = raw["entrypoint"]
    entrypoint = resolver.resolve(ref, doc, (*path, "entrypoint"))
    declared = raw.get("parameters")
    if declared is not None and not check_json_schema(declared, doc, (*path, "parameters"), sink):
        return None
    raw_approval: bool | str = raw.get("needs_approval", False)
    approval: bool | Entrypoint | None = raw_approval if isinstance(raw_approval, bool) else resolver.resolve(
        raw_approval, doc, (*path, "needs_approval"), "needs_approval")
    timeout: float | None = None
    if "timeout" in raw:
        try:
            timeout = parse_duration(raw["timeout"])
        except ValueError as exc:
            sink.add("RG506", str(exc), doc, (*path, "timeout"), hint="e.g. 500ms, 5s, 1.5s or 2m")
            return None
    if entrypoint is None or approval is None:
        return None
    description = raw.get("description")
    parameters: Mapping[str, Any] = declared if declared is not None else _OPEN_PARAMETERS
    fn = entrypoint.target
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
                         hint="use str, int, float, bool, list[...], dict, Literal, Enum or Optional, "
                              "or declare `parameters`")
                return None
            derived = None
        blocked = positional_only(signature)
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
            problems = check_declared(signature, declared)
            for prop, message in problems:
                where = (*path, "parameters", "properties", prop) if prop in declared.get("properties", {}) \
                    else (*path, "parameters")
                sink.add("RG306", message, doc, where,
                         hint="make `parameters` match the function, or drop `parameters` to derive them")
            if problems:
                return None
    return Tool(
        name=raw.get("name") or ref.rpartition(":")[2].rpartition(".")[2],
        description=description or "",
        parameters=freeze(parameters),
        entrypoint=entrypoint,
        needs_approval=approval,
        timeout=timeout,
        takes_context=signature is not None and "context" in signature.parameters,
        location=entrypoint.location,
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
                out.append(Guardrail(name=raw.get("name", raw["entrypoint"]), entrypoint=entrypoint,
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


def build_hooks(raw: Mapping[str, Any], doc: Document, base: JsonPath, resolver: EntrypointResolver) -> Hooks:
    """Lifecycle hooks, each called as ``fn(event)``."""
    resolved = {name: resolver.resolve(raw[name], doc, (*base, name), "hook") for name in _HOOKS if name in raw}
    return Hooks(**resolved)
