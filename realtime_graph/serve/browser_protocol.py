"""Browser protocol v1 (docs/serve.md): messages in, session events out. Pure, no I/O.

:func:`parse_client_message` turns one text frame from the console into a command or a
:class:`BadMessage` that says what was wrong and what is accepted. :class:`EventTranslator` turns
the session's events into the frames the console receives (JSON objects and binary audio),
keeping the little state the protocol needs: which audio item the binary frames belong to, the
transcript text so far per item, and the active agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..graph.model import Graph
from ..runtime import events as ev

__all__ = ("MAX_AUDIO_FRAME", "MAX_TEXT", "PROTOCOL_VERSION", "Approve", "BadMessage", "ClientCommand",
           "EventTranslator", "Frame", "Interrupt", "Played", "Reject", "TextTurn", "check_audio_frame",
           "graph_outline", "parse_client_message", "session_message")

PROTOCOL_VERSION = 1
MAX_TEXT = 8192
"""Longest accepted text frame (characters): a user turn, not a document."""
MAX_AUDIO_FRAME = 96_000
"""Largest accepted microphone frame in bytes (2 s of PCM16 at 24 kHz); consoles send ~20-100 ms."""

Frame = dict[str, Any] | bytes
"""One frame to the browser: a JSON object (text frame) or assistant audio (binary frame)."""


@dataclass(frozen=True, slots=True)
class TextTurn:
    text: str


@dataclass(frozen=True, slots=True)
class Approve:
    call_id: str
    always: bool = False


@dataclass(frozen=True, slots=True)
class Reject:
    call_id: str
    always: bool = False
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Played:
    item_id: str
    content_index: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Interrupt:
    pass


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A malformed frame: ``message`` is sent back as ``error {code: "bad_message"}``."""

    message: str

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "code": "bad_message", "message": self.message}


ClientCommand = TextTurn | Approve | Reject | Played | Interrupt

_ACCEPTED = "text, approve, reject, played, interrupt"
_SHAPES = {
    "text": '{"type": "text", "text": "..."}',
    "approve": '{"type": "approve", "call_id": "...", "always": false}',
    "reject": '{"type": "reject", "call_id": "...", "always": false, "message": null}',
    "played": '{"type": "played", "item_id": "...", "content_index": 0, "bytes": 4800}',
    "interrupt": '{"type": "interrupt"}',
}


def _field(data: Mapping[str, Any], kind: str, name: str, types: type | tuple[type, ...],
           default: Any = ..., *, what: str) -> Any:
    if name not in data:
        if default is ...:
            raise ValueError(f"{kind}: missing {name!r} ({what}); expected {_SHAPES[kind]}")
        return default
    value = data[name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise ValueError(f"{kind}: {name!r} must be {what}, got {json.dumps(value)[:60]}; expected {_SHAPES[kind]}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def parse_client_message(text: str) -> ClientCommand | BadMessage:
    """One text frame from the browser."""
    if len(text) > MAX_TEXT:
        return BadMessage(f"message of {len(text)} characters is longer than the limit of {MAX_TEXT}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadMessage(f"not JSON ({exc.msg} at character {exc.pos}); send one JSON object with a "
                          f"\"type\" of: {_ACCEPTED} (audio goes in binary frames)")
    if not isinstance(data, dict):
        return BadMessage(f"expected a JSON object with a \"type\" of: {_ACCEPTED}")
    kind = data.get("type")
    try:
        if kind == "text":
            line = _field(data, kind, "text", str, what="a string")
            if not line.strip():
                raise ValueError("text: 'text' is empty; send the words of the user turn")
            return TextTurn(line)
        if kind == "approve":
            return Approve(_field(data, kind, "call_id", str, what="a string"),
                           _field(data, kind, "always", bool, False, what="true or false"))
        if kind == "reject":
            message = _field(data, kind, "message", (str, type(None)), None, what="a string or null")
            return Reject(_field(data, kind, "call_id", str, what="a string"),
                          _field(data, kind, "always", bool, False, what="true or false"), message)
        if kind == "played":
            count = _field(data, kind, "bytes", int, what="a whole number of bytes")
            index = _field(data, kind, "content_index", int, 0, what="an integer")
            if count < 0:
                raise ValueError("played: 'bytes' must not be negative")
            return Played(_field(data, kind, "item_id", str, what="a string"), index, count)
        if kind == "interrupt":
            return Interrupt()
    except ValueError as exc:
        return BadMessage(str(exc))
    shown = json.dumps(kind)[:40] if kind is not None else "missing"
    return BadMessage(f"unknown message type {shown}; accepted: {_ACCEPTED} (audio goes in binary frames)")


def check_audio_frame(data: bytes) -> BadMessage | None:
    """A microphone frame must be whole PCM16 samples and not absurdly large."""
    if len(data) % 2:
        return BadMessage(f"binary frame of {len(data)} bytes is not whole PCM16 samples (2 bytes each)")
    if len(data) > MAX_AUDIO_FRAME:
        return BadMessage(f"binary frame of {len(data)} bytes is larger than {MAX_AUDIO_FRAME}; "
                          f"send 20-100 ms of audio per frame")
    return None


def graph_outline(graph: Graph) -> dict[str, Any]:
    """The handoff graph as the console draws it (names only: no instructions, no secrets)."""
    return {"start": graph.start, "agents": [
        {"name": agent.name, "tools": [tool.name for tool in agent.tools],
         "handoffs": [handoff.target for handoff in agent.handoffs],
         "guardrails": [guardrail.name for guardrail in agent.output_guardrails]}
        for agent in graph.agents.values()]}


def session_message(session_id: str, graph: Graph, agent: str, *, input_rate: int,
                    output_rate: int) -> dict[str, Any]:
    """The first message of every browser session."""
    return {"type": "session", "protocol": PROTOCOL_VERSION, "session_id": session_id,
            "graph_version": graph.version, "agent": agent,
            "audio": {"input": {"format": "pcm16", "rate": input_rate},
                      "output": {"format": "pcm16", "rate": output_rate}},
            "graph": graph_outline(graph)}


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)


class EventTranslator:
    """Session events → browser frames for one session."""

    __slots__ = ("_audio_item", "_handlers", "_raw", "_texts", "_user_items", "agent")

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self._audio_item: tuple[str, int] | None = None
        self._texts: dict[str, str] = {}
        self._user_items: set[str] = set()
        self._handlers: dict[str, Any] = {
            "audio_end": self._audio_end, "audio_interrupted": self._audio_interrupted,
            "agent_start": self._agent_start, "handoff": self._handoff, "tool_start": self._tool_start,
            "tool_end": self._tool_end, "tool_approval_required": self._approval,
            "guardrail_tripped": self._guardrail, "graph_updated": self._graph_updated, "error": self._error,
            "raw_model_event": self._raw_event,
        }
        self._raw: dict[str, Any] = {
            "response.output_audio_transcript.delta": self._assistant_delta,
            "response.output_text.delta": self._assistant_delta,
            "response.output_audio_transcript.done": self._assistant_done,
            "response.output_text.done": self._assistant_done,
            "conversation.item.input_audio_transcription.delta": self._user_delta,
            "conversation.item.input_audio_transcription.completed": self._user_done,
            "conversation.item.added": self._user_text_item,
            "conversation.item.created": self._user_text_item,
        }

    def translate(self, event: ev.SessionEventBase) -> list[Frame]:
        """The frames ``event`` produces (often none: history and most raw events are not sent)."""
        if type(event) is ev.AudioEvent:  # the hot path: no dict lookup, at most one announcement
            key = (event.item_id, event.content_index)
            if key == self._audio_item:
                return [event.audio]
            self._audio_item = key
            return [{"type": "audio", "item_id": event.item_id, "content_index": event.content_index}, event.audio]
        handler = self._handlers.get(event.type)
        return handler(event) if handler is not None else []

    def _audio_end(self, event: ev.AudioEndEvent) -> list[Frame]:
        self._audio_item = None
        return [{"type": "audio_end", "item_id": event.item_id, "content_index": event.content_index}]

    def _audio_interrupted(self, event: ev.AudioInterruptedEvent) -> list[Frame]:
        self._audio_item = None
        return [{"type": "audio_interrupted", "item_id": event.item_id, "content_index": event.content_index}]

    def _agent_start(self, event: ev.AgentStartEvent) -> list[Frame]:
        self.agent = event.agent.name
        return [{"type": "agent", "name": event.agent.name}]

    def _handoff(self, event: ev.HandoffEvent) -> list[Frame]:
        self.agent = event.to_agent.name
        return [{"type": "handoff", "from": event.from_agent.name, "to": event.to_agent.name}]

    def _tool_start(self, event: ev.ToolStartEvent) -> list[Frame]:
        return [{"type": "tool_start", "call_id": event.call_id, "name": event.tool, "arguments": event.arguments}]

    def _tool_end(self, event: ev.ToolEndEvent) -> list[Frame]:
        return [{"type": "tool_end", "call_id": event.call_id, "name": event.tool,
                 "output": _output_text(event.output)}]

    def _approval(self, event: ev.ToolApprovalRequiredEvent) -> list[Frame]:
        return [{"type": "approval_required", "call_id": event.call_id, "name": event.tool,
                 "arguments": event.arguments}]

    def _guardrail(self, event: ev.GuardrailTrippedEvent) -> list[Frame]:
        names = [r.guardrail for r in event.guardrail_results if r.guardrail] or ["guardrail"]
        return [{"type": "guardrail_tripped", "guardrail": ", ".join(names), "text": event.message}]

    def _graph_updated(self, event: ev.GraphUpdatedEvent) -> list[Frame]:
        return [{"type": "graph_updated", "version": event.graph_version, "agent": self.agent,
                 "message": event.message}]

    def _error(self, event: ev.ErrorEvent) -> list[Frame]:
        error = event.error
        code = error.get("code") or error.get("kind") or "session_error"
        return [{"type": "error", "code": str(code), "message": str(error.get("message", ""))}]

    def _raw_event(self, event: ev.RawModelEvent) -> list[Frame]:
        handler = self._raw.get(event.data.get("type", ""))
        return handler(event.data) if handler is not None else []

    def _transcript(self, item_id: str, role: str, delta: str | None, text: str, final: bool) -> list[Frame]:
        return [{"type": "transcript", "item_id": item_id, "role": role, "agent": self.agent, "delta": delta,
                 "text": text, "final": final}]

    def _streamed(self, role: str, data: Mapping[str, Any]) -> list[Frame]:
        item_id, delta = data.get("item_id", ""), data.get("delta") or ""
        text = self._texts.get(item_id, "") + delta
        self._texts[item_id] = text
        return self._transcript(item_id, role, delta, text, False)

    def _assistant_delta(self, data: Mapping[str, Any]) -> list[Frame]:
        return self._streamed("assistant", data)

    def _assistant_done(self, data: Mapping[str, Any]) -> list[Frame]:
        item_id = data.get("item_id", "")
        streamed = self._texts.pop(item_id, "")
        text = data.get("transcript", data.get("text"))
        return self._transcript(item_id, "assistant", None, text if isinstance(text, str) else streamed, True)

    def _user_delta(self, data: Mapping[str, Any]) -> list[Frame]:
        return self._streamed("user", data)

    def _user_done(self, data: Mapping[str, Any]) -> list[Frame]:
        item_id = data.get("item_id", "")
        self._texts.pop(item_id, None)
        return self._transcript(item_id, "user", None, data.get("transcript") or "", True)

    def _user_text_item(self, data: Mapping[str, Any]) -> list[Frame]:
        item = data.get("item")
        if not isinstance(item, Mapping) or item.get("role") != "user" or item.get("type") != "message":
            return []
        item_id = item.get("id", "")
        parts = [c.get("text", "") for c in item.get("content") or ()
                 if isinstance(c, Mapping) and c.get("type") == "input_text"]
        if not parts or item_id in self._user_items:
            return []
        self._user_items.add(item_id)
        return self._transcript(item_id, "user", None, "".join(parts), True)
