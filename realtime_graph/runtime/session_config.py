"""Graph + active agent → the GA session object sent in ``session.update`` (pure, no I/O).

Precedence, lowest first: the OpenAI Agents SDK defaults, the graph's ``model_settings``
(already GA-shaped by the loader), then the agent's overrides (``tool_choice``, ``prompt``,
``audio.output.voice``, ...). Only ``audio``, ``audio.input`` and ``audio.output`` are merged key
by key; every other key (``turn_detection``, ``transcription``, ``tools``, ...) replaces the
lower layer wholesale, like the SDK. ``model_name`` never goes into the update: the model is
fixed by the connect URL.

Tracing is sent once, in the initial update (the SDK sends it in a second ``session.update``
after ``session.created``; the API accepts it in the first and it cannot change afterwards, so
one update is enough and saves a round trip).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..errors import SessionError
from ..graph.model import DEFAULT_OUTPUT_MODALITIES, DEFAULT_VOICE, Agent, Graph, Secret, thaw
from .call_control import control_tools

__all__ = (
    "DEFAULT_MODEL",
    "attach_call_id",
    "build_session",
    "connect_model",
    "greeting_instructions",
    "hosted_tools",
    "instruction_values",
    "interrupt_response",
    "output_format",
    "tool_names_problem",
    "tracing_setting",
)

DEFAULT_MODEL = "gpt-realtime-2.1"

_PCM = {"type": "audio/pcm", "rate": 24000}

_MERGED = frozenset({"audio", "input", "output"})


def _defaults(call_id: str | None) -> dict[str, Any]:
    audio_in: dict[str, Any] = {
        "transcription": {"model": "gpt-4o-mini-transcribe"},
        "turn_detection": {"type": "semantic_vad", "interrupt_response": True},
    }
    audio_out: dict[str, Any] = {"voice": DEFAULT_VOICE}
    if call_id is None:  # an attached SIP call already negotiated its codec
        audio_in = {"format": dict(_PCM), **audio_in}
        audio_out = {"format": dict(_PCM), **audio_out}
    return {"type": "realtime", "output_modalities": list(DEFAULT_OUTPUT_MODALITIES),
            "audio": {"input": audio_in, "output": audio_out}}


def _overlay(base: dict[str, Any], top: Mapping[str, Any], depth: int = 0) -> None:
    for key, value in top.items():
        if depth == 0 and key in ("model_name", "tracing", "type", "tools"):
            continue
        current = base.get(key)
        if key in _MERGED and isinstance(current, dict) and isinstance(value, Mapping):
            _overlay(current, value, depth + 1)
        else:
            base[key] = thaw(value)


def connect_model(graph: Graph) -> str:
    """The model named in the connect request: ``transport.model``, ``model_settings.model_name``, default."""
    return graph.transport.model or graph.model_settings.get("model_name") or DEFAULT_MODEL


def attach_call_id(graph: Graph) -> str | None:
    """``transport.call_id`` of the graph, an ``${ENV}`` reference revealed.

    :raises SessionError: the reference names an unset environment variable.
    """
    call_id = graph.transport.call_id
    if not isinstance(call_id, Secret):
        return call_id
    missing = call_id.missing()
    if missing:
        raise SessionError(f"transport.call_id needs environment variable {', '.join(missing)}; "
                           f"export it (or pass --call-id)")
    return call_id.reveal() or None


def greeting_instructions(graph: Graph, agent: Agent, values: Mapping[str, Any]) -> str | None:
    """The greeting the session speaks first, rendered with ``values``: the agent's ``greeting``,
    else the graph's, else None."""
    template = agent.greeting or graph.greeting
    return template.render(values) if template is not None else None


def instruction_values(graph: Graph, context: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: the graph's declared defaults with the per-session ``context`` on top.

    :raises SessionError: when a required variable has no value or an ``${ENV}`` default is unset.
    """
    values: dict[str, Any] = {}
    for name, var in graph.variables.items():
        if name in context:
            values[name] = context[name]
            continue
        default = var.default
        if isinstance(default, Secret):
            missing = default.missing()
            if missing:
                raise SessionError(
                    f"variable {name!r} needs environment variable(s) {', '.join(missing)}; "
                    f"set them or pass {name!r} in runner.run(context={{...}})")
            default = default.reveal()
        if default is None and var.required:
            raise SessionError(
                f"required variable {name!r} has no value; pass it in "
                f"runner.run(context={{{name!r}: ...}}) or give it a default in the graph file")
        values[name] = default
    for name, value in context.items():
        values.setdefault(name, value)
    return values


def _reveal(value: Any, label: str) -> Any:
    if isinstance(value, Secret):
        missing = value.missing()
        if missing:
            raise SessionError(f"mcp tool {label!r} needs environment variable(s) {', '.join(missing)}; "
                               "set them before starting the session")
        return value.reveal()
    if isinstance(value, Mapping):
        return {k: _reveal(v, label) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_reveal(v, label) for v in value]
    return value


def hosted_tools(graph: Graph, agent: Agent) -> list[dict[str, Any]]:
    """The hosted (MCP) tools for ``agent``: its own ``model_settings.tools`` if it declares them,
    else the graph's; ``${ENV}`` headers and ``authorization`` revealed now (the only place).

    :raises SessionError: a referenced environment variable is not set (its name, never a value).
    """
    declared = agent.model_settings.get("tools", graph.model_settings.get("tools", ()))
    return [_reveal(tool, str(tool.get("server_label"))) for tool in declared]


def tool_names_problem(agent: Agent) -> str | None:
    """A message if the agent's tools and enabled handoffs do not have unique names, else None."""
    names = ([t.name for t in agent.tools] + [h.tool_name for h in agent.handoffs if h.enabled]
             + [c.name for c in control_tools(agent)])
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return f"agent {agent.name!r} has duplicate tool name(s): {', '.join(dupes)}"
    return None


def build_session(graph: Graph, agent: Agent, values: Mapping[str, Any], *,
                  call_id: str | None = None, include_tracing: bool = False,
                  instructions: str | None = None, hidden: Collection[str] = ()) -> dict[str, Any]:
    """The GA ``session`` object for ``agent`` (instructions rendered with ``values``).

    Dynamic parts come from :func:`~.dynamic_settings.evaluate`: ``instructions`` (the text
    of ``instructions: {entrypoint: ...}``; required for such agents) and ``hidden`` (names of
    handoffs their ``enabled`` entrypoint, and of tools their ``is_enabled``, turned off). Tools
    and handoffs declared disabled are never sent. Tools are sent in this order: function
    tools, enabled handoffs, call-control tools (``call_control:``), hosted (MCP) tools.

    :raises SessionError: if the agent's tools and handoffs do not have unique names (the loader
        reports this as RG206; graphs built in Python are checked here), or a hosted tool's
        ``${ENV}`` reference is unset.
    """
    problem = tool_names_problem(agent)
    if problem:
        raise SessionError(problem)
    session = _defaults(call_id)
    _overlay(session, graph.model_settings)
    _overlay(session, agent.model_settings)
    if agent.instructions.dynamic:
        if instructions is None:
            raise SessionError(f"agent {agent.name!r} has dynamic instructions ({agent.instructions.source}); "
                               "evaluate them first (runtime.dynamic_settings.evaluate)")
        session["instructions"] = instructions
    else:
        session["instructions"] = agent.instructions.render(values)
    session["tools"] = [t.to_wire() for t in agent.tools if t.enabled and t.name not in hidden] + [
        h.to_wire() for h in agent.handoffs if h.enabled and h.tool_name not in hidden] + [
        c.to_wire() for c in control_tools(agent)] + hosted_tools(graph, agent)
    if include_tracing:
        session["tracing"] = tracing_setting(graph)
    return session


def tracing_setting(graph: Graph) -> Any:
    """The ``tracing`` value of a connection's first ``session.update`` (``auto`` unless configured)."""
    if graph.run.tracing_disabled:
        return None
    if "tracing" in graph.model_settings:
        return thaw(graph.model_settings["tracing"])
    return "auto"


def _audio(session: Mapping[str, Any], side: str) -> Mapping[str, Any]:
    audio = session.get("audio")
    if not isinstance(audio, Mapping):
        return {}
    value = audio.get(side)
    return value if isinstance(value, Mapping) else {}


def output_format(session: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``audio.output.format`` of a session object, or None when absent."""
    fmt = _audio(session, "output").get("format")
    return fmt if isinstance(fmt, Mapping) else None


def interrupt_response(session: Mapping[str, Any]) -> bool:
    """True when server VAD cancels the response itself on barge-in (the client must not)."""
    td = _audio(session, "input").get("turn_detection")
    return isinstance(td, Mapping) and td.get("interrupt_response") is True
