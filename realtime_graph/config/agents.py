"""Build one ``kind: agent`` document into an :class:`Agent` (tools, handoffs, guardrails, template)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..graph.model import Agent, Handoff, Hooks, Tool, freeze
from .components import build_guardrails, build_hooks, build_tool
from .entrypoints import EntrypointResolver
from .graphdoc import compile_greeting
from .issues import IssueSink, closest
from .settings import normalise_agent_settings
from .templates import compile_instructions
from .yamlsource import Document, JsonPath

__all__ = ("BuiltAgent", "build_agent", "default_handoff_description", "default_handoff_tool_name")

_NOT_TOOL_CHAR = re.compile(r"[^A-Za-z0-9_]")


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
    on_handoff = None
    if "on_handoff" in spec:
        on_handoff = resolver.resolve(spec["on_handoff"], doc, (*path, "on_handoff"), "on_handoff")
        if on_handoff is None:
            return None
    return Handoff(
        target=target,
        tool_name=spec.get("tool_name") or default_handoff_tool_name(target),
        description=spec.get("description") or default_handoff_description(target, descriptions[target]),
        on_handoff=on_handoff,
        enabled=spec.get("enabled", True),
        location=doc.source_location(path),
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
                resolver: EntrypointResolver, sink: IssueSink, *, complete: bool = True) -> BuiltAgent | None:
    """The agent of a schema-valid document; None when any part failed (issues recorded).

    ``complete=False`` (some file failed to parse) suppresses unknown-handoff-target errors.
    """
    data = doc.data
    before = len(sink.issues)
    instructions = compile_instructions(data.get("instructions", ""), variables, doc, ("instructions",), sink)
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
    if sink.has_errors_since(before) or instructions is None or len(handoffs) != len(data.get("handoffs", [])):
        return None
    agent = Agent(
        name=data["name"],
        instructions=instructions,
        description=data.get("description", ""),
        tools=tuple(tools),
        handoffs=tuple(handoffs),
        output_guardrails=guardrails,
        model_settings=normalise_agent_settings(data.get("model_settings", {})),
        hooks=hooks,
        location=doc.source_location(("name",)),
        call_control=freeze(data.get("call_control", {})),
        greeting=compile_greeting(data.get("greeting"), variables, doc, sink),
    )
    return BuiltAgent(agent, doc)
