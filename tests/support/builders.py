"""Graphs built directly in Python, and server-event builders for scripted sessions."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import anyio
import jinja2.sandbox

from realtime_graph.graph.model import (
    Agent,
    Entrypoint,
    Graph,
    Guardrail,
    Handoff,
    Hooks,
    InstructionTemplate,
    RunSettings,
    Tool,
    Variable,
    freeze,
)
from realtime_graph.runtime import Session
from realtime_graph.runtime import events as ev

_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
_NO_HOOKS = Hooks()
_DEFAULT_RUN = RunSettings()


def template(source: str) -> InstructionTemplate:
    return InstructionTemplate(source, _ENV.from_string(source))


def entry(fn: Callable[..., Any], *, is_async: bool | None = None) -> Entrypoint:
    import inspect
    return Entrypoint(ref=f"tests:{fn.__name__}", target=fn,
                      is_async=inspect.iscoroutinefunction(fn) if is_async is None else is_async)


def tool(fn: Callable[..., Any], *, name: str | None = None, needs_approval: Any = False,
         timeout: float | None = None, takes_context: bool = False, parameters: dict | None = None) -> Tool:
    return Tool(name=name or fn.__name__, description=f"{fn.__name__} tool",
                parameters=freeze(parameters or {"type": "object", "properties": {}}), entrypoint=entry(fn),
                needs_approval=needs_approval, timeout=timeout, takes_context=takes_context)


def handoff(target: str, on_handoff: Callable[..., Any] | None = None) -> Handoff:
    return Handoff(target=target, tool_name=f"transfer_to_{target}", description=f"to {target}",
                   on_handoff=entry(on_handoff) if on_handoff else None)


def deny(name: str, *patterns: str) -> Guardrail:
    return Guardrail(name=name, deny=tuple(re.compile(p, re.I) for p in patterns))


def agent(name: str = "assistant", instructions: str = "You are {{ persona }}.", *, tools=(), handoffs=(),
          guardrails=(), model_settings: dict | None = None, hooks: Hooks = _NO_HOOKS) -> Agent:
    return Agent(name=name, instructions=template(instructions), tools=tuple(tools),
                 handoffs=tuple(handoffs), output_guardrails=tuple(guardrails),
                 model_settings=freeze(model_settings or {}), hooks=hooks)


def graph(*agents: Agent, version: str = "v1", model_settings: dict | None = None,
          run: RunSettings = _DEFAULT_RUN, variables: dict[str, Variable] | None = None,
          guardrails=(), hooks: Hooks = _NO_HOOKS) -> Graph:
    agents = agents or (agent(),)
    if variables is None:
        variables = {"persona": Variable("persona", default="helpful")}
    return Graph(version=version, start=agents[0].name, agents=freeze({a.name: a for a in agents}),
                 variables=freeze(variables), model_settings=freeze(model_settings or {}), run=run,
                 output_guardrails=tuple(guardrails), hooks=hooks)


# -- server events ---------------------------------------------------------------------------

def created(rid: str) -> dict:
    return {"type": "response.created", "event_id": f"e_{rid}_c",
            "response": {"id": rid, "object": "realtime.response", "status": "in_progress", "output": []}}


def done(rid: str, status: str = "completed") -> dict:
    return {"type": "response.done", "event_id": f"e_{rid}_d",
            "response": {"id": rid, "object": "realtime.response", "status": status, "output": []}}


def message_added(rid: str, item: str) -> dict:
    return {"type": "response.output_item.added", "response_id": rid, "output_index": 0,
            "item": {"id": item, "type": "message", "role": "assistant", "status": "in_progress", "content": []}}


def audio(rid: str, item: str, data: bytes) -> dict:
    return {"type": "response.output_audio.delta", "response_id": rid, "item_id": item, "output_index": 0,
            "content_index": 0, "delta": base64.b64encode(data).decode()}


def transcript(rid: str, item: str, text: str) -> dict:
    return {"type": "response.output_audio_transcript.delta", "response_id": rid, "item_id": item,
            "output_index": 0, "content_index": 0, "delta": text}


def transcript_done(rid: str, item: str, text: str) -> dict:
    return {"type": "response.output_audio_transcript.done", "response_id": rid, "item_id": item,
            "output_index": 0, "content_index": 0, "transcript": text}


def audio_done(rid: str, item: str) -> dict:
    return {"type": "response.output_audio.done", "response_id": rid, "item_id": item,
            "output_index": 0, "content_index": 0}


def function_call(rid: str, call_id: str, name: str, arguments: str = "{}") -> dict:
    return {"type": "response.output_item.done", "response_id": rid, "output_index": 0,
            "item": {"id": f"item_{call_id}", "type": "function_call", "status": "completed",
                     "name": name, "call_id": call_id, "arguments": arguments}}


def spoken_turn(rid: str, item: str, words: str, chunk: bytes = b"\x00" * 4800) -> list[dict]:
    return [created(rid), message_added(rid, item), transcript(rid, item, words), audio(rid, item, chunk),
            audio_done(rid, item), transcript_done(rid, item, words), done(rid)]


# -- draining --------------------------------------------------------------------------------

async def events_until(session: Session, stop: Callable[[ev.SessionEventBase], bool], *,
                       timeout: float = 3.0, raw: bool = False) -> list[ev.SessionEventBase]:
    """Session events (raw ones dropped unless ``raw``) up to and including the first ``stop``."""
    out: list[ev.SessionEventBase] = []
    with anyio.fail_after(timeout):
        async for event in session:
            if raw or event.type != "raw_model_event":
                out.append(event)
            if stop(event):
                return out
    return out


def types(events: list[ev.SessionEventBase]) -> list[str]:
    return [e.type for e in events]


def sent_types(transport) -> list[str]:
    return [e["type"] for e in transport.sent]

