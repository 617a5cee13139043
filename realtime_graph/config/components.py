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

__all__ = ("build_guardrails", "build_hooks", "build_tool")

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
    approval: bool | Entrypoint | None = raw.get("needs_approval", False)
    if isinstance(approval, str):
        approval = resolver.resolve(approval, doc, (*path, "needs_approval"), "needs_approval")
    if entrypoint is None or approval is None:
        return None
    description = raw.get("description")
    parameters: Mapping[str, Any] = declared if declared is not None else _OPEN_PARAMETERS
    fn = entrypoint.target
    # one signature serves every check; None (no target under --no-import, or a builtin without
    # an introspectable signature) skips them: the declared or open parameters stand as written
    signature = signature_of(fn) if fn is not None else None
    if signature is not None:
        try:
            derived = describe_function(fn, signature)
        except UnsupportedHint as exc:
            if declared is None:
                sink.add("RG307", f"cannot derive tool parameters from {ref!r}: unsupported type hint for {exc}",
                         doc, (*path, "entrypoint"),
                         hint="use str, int, float, bool, list[...], dict, Literal, Enum or Optional, or declare `parameters`")
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
                where = (*path, "parameters", "properties", prop) if prop in declared.get("properties", {}) else (*path, "parameters")
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
        timeout=parse_duration(raw["timeout"]) if "timeout" in raw else None,
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
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                sink.add("RG209", f"invalid regular expression: {exc.msg} at position {exc.pos}", doc,
                         (*path, "deny", i), hint="Python `re` syntax; quote the pattern in YAML")
        if len(patterns) == len(raw["deny"]):
            out.append(Guardrail(name=raw.get("name", "deny"), deny=tuple(patterns),
                                 location=doc.source_location(path)))
    return tuple(out)


def build_hooks(raw: Mapping[str, Any], doc: Document, base: JsonPath, resolver: EntrypointResolver) -> Hooks:
    """Lifecycle hooks, each called as ``fn(event)``."""
    resolved = {name: resolver.resolve(raw[name], doc, (*base, name), "hook") for name in _HOOKS if name in raw}
    return Hooks(**resolved)
