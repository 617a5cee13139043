"""Build one ``kind: agent`` document into an :class:`Agent` (tools, handoffs, guardrails, template)."""

from __future__ import annotations

import collections.abc
import os
import re
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..graph.model import Agent, Entrypoint, Handoff, Hooks, InstructionTemplate, Tool, freeze
from .components import build_guardrails, build_handoff_callback, build_hooks, build_tool
from .entrypoints import EntrypointResolver
from .graphdoc import compile_greeting
from .issues import IssueSink, closest
from .settings import normalise_agent_settings
from .telephony_checks import dtmf_routes
from .templates import compile_instructions
from .yamlsource import Document, JsonPath

__all__ = ("BuiltAgent", "build_agent", "default_handoff_description", "default_handoff_tool_name")

_NOT_TOOL_CHAR = re.compile(r"[^A-Za-z0-9_]")
_LOOKS_LIKE_ENTRYPOINT = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_AWAITABLES = (collections.abc.Awaitable, collections.abc.Coroutine)


def _returns_other_than(fn: Any, wanted: type) -> str | None:
    """The return annotation of ``fn`` when it says something other than ``wanted`` (awaitables
    and unions unwrapped, so the SDK's ``MaybeAwaitable[str]`` passes); None when it fits or
    there is no usable annotation."""
    try:
        annotation = typing.get_type_hints(fn).get("return", Any)
    except Exception:  # unresolvable forward references: nothing to check
        return None

    def fits(ann: Any) -> bool:
        origin = typing.get_origin(ann)
        if ann is Any or ann is wanted or (wanted is str and ann is typing.LiteralString):
            return True
        if origin in _AWAITABLES:
            return fits(typing.get_args(ann)[-1])
        if origin in (typing.Union, types.UnionType):
            return all(fits(arg) for arg in typing.get_args(ann))
        return False

    if fits(annotation):
        return None
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _instructions(raw: Any, variables: Collection[str], doc: Document, resolver: EntrypointResolver,
                  sink: IssueSink) -> InstructionTemplate | None:
    """A template, or ``{entrypoint: mod:fn}`` called as ``fn(context, agent) -> str`` per session update."""
    if isinstance(raw, str):
        if _LOOKS_LIKE_ENTRYPOINT.fullmatch(raw.strip()):
            sink.add("RG406", f"instructions {raw.strip()!r} look like an entrypoint but are sent to the "
                     "model as text", doc, ("instructions",),
                     hint=f"to call the function, write `instructions: {{entrypoint: {raw.strip()}}}`; "
                          "to keep the text, reword it")
        return compile_instructions(raw, variables, doc, ("instructions",), sink)
    path: JsonPath = ("instructions", "entrypoint")
    entrypoint = resolver.resolve(raw["entrypoint"], doc, path, "instructions")
    if entrypoint is None:
        return None
    returned = _returns_other_than(entrypoint.target, str) if entrypoint.target is not None else None
    if returned is not None:
        sink.add("RG305", f"instructions entrypoint {entrypoint.ref!r} is annotated to return {returned}; "
                 "instructions must be a str", doc, path,
                 hint="return the instructions text: def fn(context, agent) -> str")
        return None
    return InstructionTemplate(source=entrypoint.ref, entrypoint=entrypoint)


def _enabled(spec: Mapping[str, Any], doc: Document, path: JsonPath, resolver: EntrypointResolver,
             sink: IssueSink) -> tuple[bool, Entrypoint | None] | None:
    """``enabled``: a bool, or an entrypoint ``fn(context, agent) -> bool`` (then statically True)."""
    raw = spec.get("enabled", True)
    if isinstance(raw, bool):
        return raw, None
    entrypoint = resolver.resolve(raw, doc, (*path, "enabled"), "enabled")
    if entrypoint is None:
        return None
    returned = _returns_other_than(entrypoint.target, bool) if entrypoint.target is not None else None
    if returned is not None:
        sink.add("RG305", f"enabled entrypoint {entrypoint.ref!r} is annotated to return {returned}; "
                 "it must return a bool", doc, (*path, "enabled"),
                 hint="def fn(context, agent) -> bool: True offers the handoff to the model")
        return None
    return True, entrypoint


def _input_filter(spec: Mapping[str, Any], doc: Document, path: JsonPath, resolver: EntrypointResolver,
                  sink: IssueSink) -> tuple[bool, Entrypoint | None]:
    if "input_filter" not in spec:
        return True, None
    where = (*path, "input_filter")
    entrypoint = resolver.resolve(spec["input_filter"], doc, where, "input_filter")
    if entrypoint is None:
        return False, None
    sink.add("RG211", "input_filter is not applied: a realtime handoff keeps the server-side conversation, "
             "so the next agent sees the whole history", doc, where,
             hint="remove it: the SDK ignores input_filter for realtime agents too")
    return True, entrypoint


def default_handoff_tool_name(agent_name: str) -> str:
    """``transfer_to_`` + the name lowercased, every char outside ``[A-Za-z0-9_]`` → ``_`` (as the SDK)."""
    return "transfer_to_" + _NOT_TOOL_CHAR.sub("_", agent_name.lower())


def default_handoff_description(agent_name: str, agent_description: str) -> str:
    """The SDK's default handoff tool description."""
    text = f"Handoff to the {agent_name} agent to handle the request."
    return f"{text} {agent_description}" if agent_description else text


@dataclass(frozen=True, slots=True)
class BuiltAgent:
    """An agent plus the document it came from, for graph-level checks."""

    agent: Agent
    doc: Document


def _handoff(raw: str | Mapping[str, Any], doc: Document, path: JsonPath, descriptions: Mapping[str, str],
             resolver: EntrypointResolver, sink: IssueSink, report_unknown: bool) -> Handoff | None:
    spec: Mapping[str, Any] = {"agent": raw} if isinstance(raw, str) else raw
    target = spec["agent"]
    target_path = path if isinstance(raw, str) else (*path, "agent")
    if target not in descriptions:
        if not report_unknown:  # the target may live in a file that failed to parse
            return None
        near = closest(target, list(descriptions))
        sink.add("RG205", f"handoff to unknown agent {target!r}", doc, target_path,
                 hint=f"did you mean {near!r}?" if near else f"agents: {', '.join(sorted(descriptions)) or '(none)'}")
        return None
    ok, on_handoff, parameters = build_handoff_callback(spec, doc, path, resolver)
    enabled = _enabled(spec, doc, path, resolver, sink)
    filter_ok, input_filter = _input_filter(spec, doc, path, resolver, sink)
    if not ok or enabled is None or not filter_ok:
        return None
    return Handoff(
        target=target,
        tool_name=spec.get("tool_name") or default_handoff_tool_name(target),
        description=spec.get("description") or default_handoff_description(target, descriptions[target]),
        on_handoff=on_handoff,
        enabled=enabled[0],
        location=doc.source_location(path),
        parameters=freeze(parameters) if parameters is not None else None,
        enabled_when=enabled[1],
        input_filter=input_filter,
    )


def _check_tool_names(names: list[tuple[str, JsonPath]], doc: Document, sink: IssueSink) -> None:
    first: dict[str, JsonPath] = {}
    for name, path in names:
        if name in first:
            line, _ = doc.locate(first[name])
            sink.add("RG206", f"tool name {name!r} is already used in this agent (line {line})", doc, path,
                     hint="give one of them a different `name` (handoffs: `tool_name`)")
        else:
            first[name] = path


def build_agent(doc: Document, descriptions: Mapping[str, str], variables: Collection[str],
                resolver: EntrypointResolver, sink: IssueSink, *, complete: bool = True,
                environ: Mapping[str, str] | None = None) -> BuiltAgent | None:
    """The agent of a schema-valid document; None when any part failed (issues recorded).

    ``complete=False`` (some file failed to parse) suppresses unknown-handoff-target errors;
    ``environ`` (default ``os.environ``) is checked for the ``${ENV}`` names of hosted tools.
    """
    data = doc.data
    before = len(sink.issues)
    instructions = _instructions(data.get("instructions", ""), variables, doc, resolver, sink)
    tools: list[Tool] = []
    names: list[tuple[str, JsonPath]] = []
    for index, raw in enumerate(data.get("tools", [])):
        tool = build_tool(raw, doc, ("tools", index), resolver, sink)
        if tool is not None:
            tools.append(tool)
            names.append((tool.name, ("tools", index, "name" if "name" in raw else "entrypoint")))
    handoffs = []
    for index, raw in enumerate(data.get("handoffs", [])):
        handoff = _handoff(raw, doc, ("handoffs", index), descriptions, resolver, sink, complete)
        if handoff is not None:
            handoffs.append(handoff)
            if handoff.enabled:
                where: JsonPath = ("handoffs", index)
                if isinstance(raw, dict) and "tool_name" in raw:
                    where = ("handoffs", index, "tool_name")
                names.append((handoff.tool_name, where))
    _check_tool_names(names, doc, sink)
    guardrails = build_guardrails(data.get("output_guardrails", []), doc, ("output_guardrails",), resolver, sink)
    hooks = build_hooks(data["hooks"], doc, ("hooks",), resolver) if "hooks" in data else Hooks()
    settings = normalise_agent_settings(data.get("model_settings", {}), doc, sink,
                                        os.environ if environ is None else environ)
    if sink.has_errors_since(before) or instructions is None or len(handoffs) != len(data.get("handoffs", [])):
        return None
    agent = Agent(
        name=data["name"],
        instructions=instructions,
        description=data.get("description", ""),
        tools=tuple(tools),
        handoffs=tuple(handoffs),
        output_guardrails=guardrails,
        model_settings=settings,
        hooks=hooks,
        location=doc.source_location(("name",)),
        call_control=freeze(data.get("call_control", {})),
        greeting=compile_greeting(data.get("greeting"), variables, doc, sink),
        dtmf=freeze(dtmf_routes(data.get("dtmf", {}))),
    )
    return BuiltAgent(agent, doc)
