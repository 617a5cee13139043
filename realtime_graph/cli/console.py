"""Terminal rendering of a live session: what a user needs to follow the call, line by line.

Line shapes (stable: the acceptance tests and docs/run.md rely on them)::

    you: What's the weather in Paris?          a typed, piped or --say message
    you (voice): what's the weather in paris   input audio transcription
    Weather: It is sunny in Paris.             assistant transcript, streamed as it arrives,
                                               prefixed with the agent that speaks
    * handoff: Triage -> Weather
    * tool get_weather {"city": "Paris"}
    * tool get_weather -> Sunny, 21 C
    * interrupted
    * graph 3fa2c1d09b7e applied (kept: voice)
    * reconnected after close 1011 (internal server error) (attempt 1): replayed 4 messages, 1 tool call
    ! guardrail tripped (no_secrets): ...
    ! error: ...

Streamed lines stay open while deltas arrive; any other line closes them first, so output from
concurrent sources never tears a line.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from ..runtime import events as ev

__all__ = ("Console", "TranscriptView", "graph_applied_line")

_MAX_VALUE_CHARS = 300
_ASSISTANT_DELTAS = frozenset({"response.output_audio_transcript.delta", "response.output_text.delta"})
_ASSISTANT_DONES = frozenset({"response.output_audio_transcript.done", "response.output_text.done"})


def _clip(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())  # one line, whatever the tool returned
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


class Console:
    """Writes whole lines and streamed lines to ``out``, flushing so pipes see output at once."""

    __slots__ = ("_open", "_out")

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._open: str | None = None  # key of the streamed line currently open

    def line(self, text: str) -> None:
        self._close()
        self._out.write(text + "\n")
        self._out.flush()

    def stream(self, key: str, prefix: str, delta: str) -> None:
        if self._open != key:
            self._close()
            self._out.write(prefix)
            self._open = key
        self._out.write(delta)
        self._out.flush()

    def end_stream(self, key: str) -> None:
        """Close the streamed line ``key`` if it is the open one."""
        if self._open == key:
            self._close()
            self._out.flush()

    def _close(self) -> None:
        if self._open is not None:
            self._out.write("\n")
            self._open = None


class TranscriptView:
    """Turns session events into console lines (the human form of ``--events json``)."""

    def __init__(self, console: Console, *, start_agent: str, echo_user_text: bool = True) -> None:
        self.console = console
        self.speaker = start_agent
        # A terminal already shows what was typed; scripts and pipes need the echo.
        self.echo_user_text = echo_user_text
        self._streamed: set[str] = set()
        self._reconnecting = False  # between a drop's own lines and its "* reconnected" line

    def show(self, event: ev.SessionEventBase) -> None:
        if isinstance(event, ev.RawModelEvent):
            self._raw(event.data)
        elif isinstance(event, ev.AgentStartEvent):
            self.speaker = event.agent.name
        elif isinstance(event, ev.HandoffEvent):
            self.speaker = event.to_agent.name
            self.console.line(f"* handoff: {event.from_agent.name} -> {event.to_agent.name}")
        elif isinstance(event, ev.ToolStartEvent):
            self.console.line(f"* tool {event.tool} {_clip(event.arguments)}")
        elif isinstance(event, ev.ToolEndEvent):
            self.console.line(f"* tool {event.tool} -> {_clip(event.output)}")
        elif isinstance(event, ev.AudioInterruptedEvent):
            if not self._reconnecting:  # a reconnect's flush is said by its own line
                self.console.line("* interrupted")
        elif isinstance(event, ev.GuardrailTrippedEvent):
            names = ", ".join(r.guardrail for r in event.guardrail_results if r.guardrail)
            self.console.line(f"! guardrail tripped{f' ({names})' if names else ''}: {_clip(event.message)}")
        elif isinstance(event, ev.ErrorEvent):
            error = event.error
            message = error.get("message") if isinstance(error, dict) else None
            if _starts_reconnect(error):
                self._reconnecting = True  # one line per reconnect: "* reconnected ..." says it all
                return
            self.console.line(f"! error: {_clip(message or error)}")
        elif isinstance(event, ev.GraphUpdatedEvent):
            self.console.line(graph_applied_line(event))
        elif isinstance(event, ev.ReconnectedEvent):
            self._reconnecting = False
            self.console.line(f"* {event.message}")
        elif isinstance(event, ev.InputAudioTimeoutTriggeredEvent):
            self.console.line("* no speech detected (input audio timeout)")
        elif isinstance(event, ev.DtmfEvent):
            self.console.line(f"* dtmf {event.digit}{f' -> {event.action}' if event.action else ''}")

    def _raw(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind in _ASSISTANT_DELTAS:
            key = f"{data.get('item_id')}:{data.get('content_index', 0)}"
            self._streamed.add(key)
            self.console.stream(key, f"{self.speaker}: ", data.get("delta") or "")
        elif kind in _ASSISTANT_DONES:
            key = f"{data.get('item_id')}:{data.get('content_index', 0)}"
            if key in self._streamed:
                self._streamed.discard(key)
                self.console.end_stream(key)
            else:  # a server that sends no deltas still gets its line
                text = data.get("transcript") if kind.endswith("transcript.done") else data.get("text")
                if text:
                    self.console.line(f"{self.speaker}: {text}")
        elif kind == "conversation.item.added" and self.echo_user_text:
            # Echoed from the server's item (not when sending) so it is ordered with the replies.
            item = data.get("item") or {}
            if item.get("role") == "user":
                text = " ".join(p.get("text") or "" for p in item.get("content") or ()
                                if p.get("type") == "input_text")
                if text:
                    self.console.line(f"you: {text}")
        elif kind == "conversation.item.input_audio_transcription.completed":
            self.console.line(f"you (voice): {(data.get('transcript') or '').strip()}")


def _starts_reconnect(error: Any) -> bool:
    """The session's own report of a response failed by a reconnect it is starting."""
    if not isinstance(error, dict):
        return False
    kind = error.get("kind")
    return kind == "response_interrupted" or (
        kind == "response_timeout" and str(error.get("message", "")).endswith("; reconnecting"))


def graph_applied_line(event: ev.GraphUpdatedEvent) -> str:
    """``* graph <version> applied`` plus what was kept or pinned."""
    details = []
    if event.kept:
        details.append("kept: " + ", ".join(event.kept))
    if event.pinned:
        details.append("the active agent is not in the new graph: staying on its pinned definition")
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"* graph {event.graph_version} applied{suffix}"
