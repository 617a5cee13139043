"""SDK ``RealtimeAgent`` objects → ``kind: agent`` documents, walking handoffs (cycles included).

Each document keeps the notes of what it could not express, so the writer puts them at the top
of that agent's file. The SDK is imported by the caller (``sdk_import.importer``); this module
receives its types.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .sdk_lookup import ObjectLocator, closure_values

__all__ = ("AgentDocument", "SdkTypes", "escape_template", "translate_agents")

_NOT_TOOL_CHAR = re.compile(r"[^A-Za-z0-9_]")
_JINJA_OPEN = re.compile(r"\{[{%#]")


@dataclass(frozen=True)
class SdkTypes:
    """The SDK classes the translation tells apart (passed in so this module never imports them)."""

    # typed Any: isinstance against them must not narrow SDK objects to ``object`` for mypy
    realtime_agent: Any
    handoff: Any
    function_tool: Any


@dataclass
class AgentDocument:
    """One agent's ``kind: agent`` document and what it could not carry over."""

    name: str
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    session_tools: list[dict[str, Any]] = field(default_factory=list)
    """Hosted tools (MCP) found on the agent: session-wide in rtgraph, so they go to the graph."""


def escape_template(text: str) -> str:
    """A literal string as an instructions template that renders back to exactly ``text``.

    Instructions are Jinja2 templates; ``{{``, ``{%`` and ``{#`` in SDK strings are literal text,
    so each becomes an expression printing it (``{{ '{{' }}``).
    """
    return _JINJA_OPEN.sub(lambda m: "{{ '" + m.group() + "' }}", text)


def default_tool_name(agent_name: str) -> str:
    return "transfer_to_" + _NOT_TOOL_CHAR.sub("_", agent_name.lower())


def _env_name(*parts: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")


def hosted_mcp(tool: Any, notes: list[str]) -> dict[str, Any]:
    """A ``HostedMCPTool``'s config as a GA session tool; header and authorization values become
    ``${ENV}`` references (a secret is never written), each named in a note."""
    config = {k: v for k, v in dict(tool.tool_config).items() if v is not None}
    label = str(config.get("server_label", "mcp"))
    notes.append(f"hosted MCP tool {label!r}: written to graph.yaml model_settings.tools (hosted tools are "
                 "session-wide in rtgraph; the SDK's realtime sessions refuse them)")
    if isinstance(config.get("authorization"), str):
        env = _env_name("MCP", label, "AUTHORIZATION")
        config["authorization"] = "${" + env + "}"
        notes.append(f"hosted MCP tool {label!r}: authorization written as ${{{env}}}; set that environment variable")
    if isinstance(config.get("headers"), dict):
        headers = {}
        for name in config["headers"]:
            env = _env_name("MCP", label, str(name))
            headers[str(name)] = "${" + env + "}"
            notes.append(f"hosted MCP tool {label!r}: header {name!r} written as ${{{env}}}; set that environment "
                         "variable")
        config["headers"] = headers
    if getattr(tool, "on_approval_request", None) is not None:
        notes.append(f"hosted MCP tool {label!r}: on_approval_request has no YAML form; approvals follow "
                     "require_approval")
    return config


def _describe(obj: Any) -> str:
    return str(getattr(obj, "name", None) or getattr(obj, "__qualname__", None) or type(obj).__name__)


def _unique_names(agents: list[Any]) -> dict[int, str]:
    names: dict[int, str] = {}
    taken: set[str] = set()
    for agent in agents:
        name, n = agent.name, 2
        while name in taken:
            name, n = f"{agent.name}_{n}", n + 1
        taken.add(name)
        names[id(agent)] = name
    return names


class _AgentTranslator:
    def __init__(self, types: SdkTypes, locator: ObjectLocator, names: dict[int, str],
                 by_name: dict[str, Any]) -> None:
        self.types, self.locator, self.names, self.by_name = types, locator, names, by_name

    def target_of(self, item: Any) -> Any:
        if isinstance(item, self.types.realtime_agent):
            return item
        if isinstance(item, self.types.handoff):
            agent = closure_values(item.on_invoke_handoff).get("agent")
            if isinstance(agent, self.types.realtime_agent):
                return agent
            return self.by_name.get(item.agent_name)
        return None

    def agent(self, agent: Any) -> AgentDocument:
        name = self.names[id(agent)]
        doc: dict[str, Any] = {"kind": "agent", "name": name}
        result = AgentDocument(name, doc)
        notes = result.notes
        if name != agent.name:
            notes.append(f"another agent is also named {agent.name!r}; this one is written as {name!r}")
        if agent.handoff_description:
            doc["description"] = agent.handoff_description
        self._instructions(agent, doc, notes)
        tools = [t for t in (self._tool(t, result) for t in agent.tools) if t is not None]
        if tools:
            doc["tools"] = tools
        handoffs = [h for h in (self._handoff(h, notes) for h in agent.handoffs) if h is not None]
        if handoffs:
            doc["handoffs"] = handoffs
        guards = [g for g in (self._guardrail(g, notes) for g in agent.output_guardrails) if g is not None]
        if guards:
            doc["output_guardrails"] = guards
        if agent.hooks is not None:
            where = self.locator.find(agent.hooks)
            if where:
                doc["hooks"] = where
            else:
                notes.append(f"hooks {type(agent.hooks).__name__} object: not a module attribute; assign it to a "
                             "module-level name and import again")
        if agent.prompt is not None:
            prompt = dict(agent.prompt)
            doc["model_settings"] = {"prompt": {k: v for k, v in prompt.items() if v is not None}}
        if getattr(agent, "mcp_servers", None):
            notes.append(f"mcp_servers ({len(agent.mcp_servers)}): local MCP servers are not supported in realtime "
                         "sessions; declare a hosted MCP tool in the graph's model_settings.tools instead")
        return result

    def _instructions(self, agent: Any, doc: dict[str, Any], notes: list[str]) -> None:
        value = agent.instructions
        if value is None:
            return
        if isinstance(value, str):
            doc["instructions"] = escape_template(value)
            return
        where = self.locator.find(value, prefer=getattr(value, "__name__", None))
        if where:
            doc["instructions"] = {"entrypoint": where}
        else:
            notes.append(f"instructions callable {_describe(value)}: not a module attribute (a lambda or a local "
                         "function?); define it at module level and import again")

    def _tool(self, tool: Any, result: AgentDocument) -> dict[str, Any] | None:
        label, notes = f"tool {_describe(tool)!r}", result.notes
        if type(tool).__name__ == "HostedMCPTool":
            result.session_tools.append(hosted_mcp(tool, notes))
            return None
        if not isinstance(tool, self.types.function_tool):
            notes.append(f"{label} ({type(tool).__name__}): realtime sessions take function tools only "
                         "(the SDK refuses it too); not written")
            return None
        if tool.is_enabled is False:
            notes.append(f"{label}: is_enabled=False (the SDK never sends it); not written")
            return None
        # a callable is_enabled stays on the FunctionTool the entrypoint names: the session asks it
        where = self.locator.find(tool, prefer=tool.name)
        if where is None:
            notes.append(f"{label}: not a module attribute (built inline?); assign the FunctionTool to a "
                         "module-level name and import again")
            return None
        entry: dict[str, Any] = {"entrypoint": where}
        approval = tool.needs_approval
        if approval is True:
            entry["needs_approval"] = True
        elif callable(approval):
            found = self.locator.find(approval, prefer=getattr(approval, "__name__", None))
            if found:
                entry["needs_approval"] = found
            else:
                entry["needs_approval"] = True
                notes.append(f"{label}: needs_approval callable is not a module attribute; written as "
                             "needs_approval: true (ask every time)")
        if tool.timeout_seconds is not None:
            entry["timeout"] = f"{tool.timeout_seconds:g}s"
            if tool.timeout_behavior != "error_as_result":
                notes.append(f"{label}: timeout_behavior {tool.timeout_behavior!r}: rtgraph always tells the model "
                             "the tool timed out")
        if tool.tool_input_guardrails or tool.tool_output_guardrails:
            notes.append(f"{label}: tool input/output guardrails are not supported; not written")
        return entry

    def _handoff(self, item: Any, notes: list[str]) -> dict[str, Any] | None:
        target = self.target_of(item)
        if target is None:
            what = (f"handoff to {item.agent_name!r}: its target agent cannot be read back (a Handoff not made "
                    "by realtime_handoff())" if isinstance(item, self.types.handoff)
                    else f"handoff {_describe(item)}: not a RealtimeAgent or Handoff")
            notes.append(f"{what}; not written")
            return None
        target_name = self.names.get(id(target), getattr(item, "agent_name", target.name))
        entry: dict[str, Any] = {"agent": target_name}
        is_handoff = isinstance(item, self.types.handoff)
        # what the SDK sends; written only where rtgraph's default (from the written name) differs
        tool_name = item.tool_name if is_handoff else default_tool_name(target.name)
        description = item.tool_description if is_handoff else self._default_description(target.name, target)
        if tool_name != default_tool_name(target_name):
            entry["tool_name"] = tool_name
        if description.strip() != self._default_description(target_name, target).strip():
            entry["description"] = description
        if not is_handoff:
            return entry
        label = f"handoff to {target_name!r}"
        captured = closure_values(item.on_invoke_handoff)
        if not captured:
            notes.append(f"{label}: a Handoff not made by realtime_handoff(); its callback and input schema "
                         "cannot be read back; written without them")
        input_type = captured.get("input_type")
        if input_type is not None:
            self._entry(entry, "input_type", input_type, label, notes)
        if captured.get("on_handoff") is not None:
            self._entry(entry, "on_handoff", captured["on_handoff"], label, notes)
        if item.is_enabled is False:
            entry["enabled"] = False
        elif callable(item.is_enabled):
            fn = closure_values(item.is_enabled).get("is_enabled", item.is_enabled)
            self._entry(entry, "enabled", fn, label, notes)
        if getattr(item, "input_filter", None) is not None:
            self._entry(entry, "input_filter", item.input_filter, label, notes)
        return entry

    @staticmethod
    def _default_description(name: str, target: Any) -> str:
        return f"Handoff to the {name} agent to handle the request. {target.handoff_description or ''}"

    def _entry(self, entry: dict[str, Any], key: str, obj: Any, label: str, notes: list[str]) -> None:
        where = self.locator.find(obj, prefer=getattr(obj, "__name__", None))
        if where:
            entry[key] = where
        else:
            notes.append(f"{label}: {key} {_describe(obj)} is not a module attribute; not written")

    def _guardrail(self, guardrail: Any, notes: list[str]) -> dict[str, Any] | None:
        where = self.locator.find(guardrail)
        if where:
            return {"entrypoint": where}
        fn = getattr(guardrail, "guardrail_function", None)
        found = self.locator.find(fn, prefer=getattr(fn, "__name__", None)) if fn is not None else None
        if found:  # the OutputGuardrail was built inline around a module-level function
            entry: dict[str, Any] = {"entrypoint": found}
            if getattr(guardrail, "name", None):
                entry["name"] = guardrail.name
            return entry
        notes.append(f"output guardrail {_describe(guardrail)}: neither it nor its function is a module "
                     "attribute; not written")
        return None


def _walk(start: Any, types: SdkTypes, target_of: Callable[[Any], Any]) -> list[Any]:
    seen: dict[int, Any] = {id(start): start}
    queue = deque([start])
    while queue:
        agent = queue.popleft()
        for item in agent.handoffs:
            target = target_of(item)
            if isinstance(target, types.realtime_agent) and id(target) not in seen:
                seen[id(target)] = target
                queue.append(target)
    return list(seen.values())


def translate_agents(start: Any, types: SdkTypes, locator: ObjectLocator) -> list[AgentDocument]:
    """Every agent reachable from ``start`` through handoffs (start first, breadth first)."""
    probe = _AgentTranslator(types, locator, {}, {})
    agents = _walk(start, types, probe.target_of)
    by_name = {a.name: a for a in reversed(agents)}
    translator = _AgentTranslator(types, locator, _unique_names(agents), by_name)
    return [translator.agent(agent) for agent in agents]
