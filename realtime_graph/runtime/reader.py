"""Server events → session state and session events: the session's per-event hot path.

One reader task per session iterates the connection. Each event costs one dict lookup on
``type`` and a bound method; audio deltas (the bulk of traffic) take a dedicated branch with one
base64 decode. Handlers update the response slot, history, playback tracker and tool calls, and
emit the SDK-named session events.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from ..graph.model import Agent
from ..transports import protocol
from ..transports.base import Connection, ServerEvent
from . import events as ev

if TYPE_CHECKING:
    from .session import Session

__all__ = ("ServerEventReader",)


class ServerEventReader:
    """Dispatches the server events of one session."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._handlers: dict[str, Callable[[ServerEvent], Awaitable[None]]] = {
            "session.updated": self._on_session_updated,
            "response.created": self._on_response_created,
            "response.done": self._on_response_done,
            "response.output_audio.done": self._on_audio_done,
            "response.output_audio_transcript.delta": session.interrupts.on_transcript_delta,
            "response.output_text.delta": session.interrupts.on_text_delta,
            "response.output_audio_transcript.done": session.interrupts.on_transcript_done,
            "response.output_text.done": session.interrupts.on_text_done,
            "response.output_item.added": self._on_item,
            "response.output_item.done": self._on_output_item_done,
            "conversation.item.added": self._on_item,
            "conversation.item.created": self._on_item,
            "conversation.item.done": self._on_item,
            "conversation.item.retrieved": self._on_item,
            "conversation.item.deleted": self._on_item_deleted,
            "conversation.item.input_audio_transcription.completed": self._on_input_transcript,
            "input_audio_buffer.speech_started": session.interrupts.on_speech_started,
            "input_audio_buffer.timeout_triggered": self._on_timeout_triggered,
            "error": self._on_error,
        }

    async def run(self, connection: Connection, *, raw: bool) -> None:
        """Read until the connection ends (cleanly, or by raising ``ConnectionLost``)."""
        handlers = self._handlers
        emit = self._s.emit
        on_audio = self._on_audio_delta
        audio_delta = protocol.AUDIO_DELTA
        async for event in connection:
            if raw:
                emit(ev.RawModelEvent(data=event))
            kind = event.get("type")
            if kind == audio_delta:
                on_audio(event)
                continue
            handler = handlers.get(kind)
            if handler is not None:
                await handler(event)

    def _hooks_defined(self, hook: str, agent: Agent) -> bool:
        return getattr(self._s.graph.hooks, hook) is not None or getattr(agent.hooks, hook) is not None

    def _on_audio_delta(self, event: ServerEvent) -> None:
        response_id = event.get("response_id", "")
        if response_id in self._s.interrupts.suppressed:
            return
        data = a2b_base64(event["delta"])
        item_id = event["item_id"]
        content_index = event.get("content_index", 0)
        self._s.playback_tracker.on_audio_received(item_id, content_index, response_id, len(data))
        self._s.audio_produced = True
        self._s.emit(ev.AudioEvent(audio=data, item_id=item_id, content_index=content_index,
                                response_id=response_id))

    async def _on_audio_done(self, event: ServerEvent) -> None:
        if event.get("response_id") not in self._s.interrupts.suppressed:
            self._s.emit(ev.AudioEndEvent(item_id=event.get("item_id", ""),
                                       content_index=event.get("content_index", 0)))

    async def _on_session_updated(self, event: ServerEvent) -> None:
        session = event.get("session")
        if isinstance(session, Mapping):
            self._s.set_live(session)

    async def _on_response_created(self, event: ServerEvent) -> None:
        response_id = (event.get("response") or {}).get("id", "")
        self._s.slot.on_created(response_id)
        agent = self._s.current_agent
        self._s.response_agents[response_id] = agent
        start = ev.AgentStartEvent(agent=agent)
        self._s.emit(start)
        if self._hooks_defined("on_agent_start", agent):
            self._s.start_soon(self._s.run_hooks, "on_agent_start", agent, start)

    async def _on_response_done(self, event: ServerEvent) -> None:
        response_id = (event.get("response") or {}).get("id")
        if response_id is None or response_id == self._s.slot.active:
            agent = self._s.response_agents.pop(response_id or "", self._s.current_agent)
            end = ev.AgentEndEvent(agent=agent)
            self._s.emit(end)
            if self._hooks_defined("on_agent_end", agent):
                self._s.start_soon(self._s.run_hooks, "on_agent_end", agent, end)
        self._s.interrupts.response_finished(response_id or "")
        create = self._s.slot.on_done(response_id)
        if create is not None:
            await self._s.send(create)
        await self._s.settle()

    async def _on_item(self, event: ServerEvent) -> None:
        item = event.get("item")
        if isinstance(item, Mapping):
            self._s.history_apply(item, event.get("previous_item_id"))

    async def _on_output_item_done(self, event: ServerEvent) -> None:
        await self._on_item(event)
        if protocol.is_function_call_done(event):
            await self._s.calls.dispatch(self._s.current_agent, event["item"])

    async def _on_item_deleted(self, event: ServerEvent) -> None:
        self._s.history_delete(event.get("item_id", ""))

    async def _on_input_transcript(self, event: ServerEvent) -> None:
        self._s.set_input_transcript(event.get("item_id", ""), event.get("transcript") or "")

    async def _on_timeout_triggered(self, event: ServerEvent) -> None:
        self._s.emit(ev.InputAudioTimeoutTriggeredEvent())

    async def _on_error(self, event: ServerEvent) -> None:
        error = event.get("error")
        error = dict(error) if isinstance(error, Mapping) else {"message": str(error)}
        if not self._s.interrupts.is_own_cancel_race(error):
            self._s.emit(ev.ErrorEvent(error=error))
        create = self._s.slot.on_error(error)
        if create is not None:
            await self._s.send(create)
        await self._s.settle()
