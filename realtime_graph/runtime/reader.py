"""Server events → session state and session events: the session's per-event hot path.

One reader task per session iterates the connection. Each event costs one dict lookup on
``type`` and a bound method; audio deltas (the bulk of traffic) take a dedicated branch with one
base64 decode. Handlers update the history, playback tracker and live config here, and hand
responses, text and guardrails to :class:`~.turns.Turns`, function calls to
:class:`~.calls.ToolCalls`, barge-in to :class:`~.interruption.Interruptions`.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Awaitable, Callable, Mapping

import anyio

from ..transports import protocol
from ..transports.base import Connection, ServerEvent
from . import events as ev
from .calls import ToolCalls
from .dtmf import DtmfRouter
from .history import HistoryItem
from .interruption import Interruptions
from .seam import Seam
from .session_config import output_format
from .state import SessionState
from .turns import Turns

__all__ = ("ServerEventReader", "adopt_live", "malformed")

_MALFORMED = (AttributeError, KeyError, IndexError, TypeError, ValueError, RecursionError)
"""What a handler raises on a server event of the wrong shape (``binascii.Error`` is a
ValueError). Caught once around the dispatch, so well-formed events pay nothing for it."""


def malformed(event: object, exc: BaseException) -> str:
    """The ``error`` event text for a server event a handler could not read."""
    if not isinstance(event, dict):
        return (f"ignored a server frame that is a JSON {type(event).__name__}, not an event object: "
                f"{str(event)[:80]!r}")
    kind = event.get("type")
    if not isinstance(kind, str):
        return f"ignored a server event whose 'type' is a {type(kind).__name__}, not a string"
    if isinstance(exc, KeyError):
        what = f"missing field {exc.args[0]!r}" if exc.args else "a missing field"
    elif type(exc).__name__ == "Error" and type(exc).__module__ == "binascii":
        what = f"invalid base64 ({exc})"
    elif isinstance(exc, RecursionError):
        what = "nested too deeply"
    else:
        what = f"a field of the wrong type or value ({type(exc).__name__}: {exc})"
    return f"ignored a malformed server event {kind!r}: {what}"


class ServerEventReader:
    """Dispatches the server events of one session."""

    def __init__(self, state: SessionState, seam: Seam, *, turns: Turns, calls: ToolCalls,
                 cuts: Interruptions, settle: Callable[[], Awaitable[None]], dtmf: DtmfRouter) -> None:
        self._state = state
        self._seam = seam
        self._calls = calls
        self._cuts = cuts
        self._settle = settle
        self.first_event = anyio.Event()
        """Set once the server sent ``session.created`` (or the connection ended); the session
        waits for it on entry, bounded by ``run.timeouts.first_event``."""

        async def transcript_delta(event: ServerEvent) -> None:
            await turns.on_delta(event, "transcript")

        async def text_delta(event: ServerEvent) -> None:
            await turns.on_delta(event, "text")

        async def transcript_done(event: ServerEvent) -> None:
            await turns.on_text_done(event, "transcript")

        async def text_done(event: ServerEvent) -> None:
            await turns.on_text_done(event, "text")

        async def speech_started(event: ServerEvent) -> None:
            await cuts.interrupt(force_cancel=False)

        async def dtmf_received(event: ServerEvent) -> None:  # SIP calls: the keypad press, server-side
            await dtmf.on_digit(str(event["event"]), "sip")
        async def output_buffer(event: ServerEvent) -> None:  # a call's server-side playback
            state.buffer_playing = event["type"] == "output_audio_buffer.started"

        self._handlers: dict[str, Callable[[ServerEvent], Awaitable[None]]] = {
            "session.updated": self._on_session_updated,
            "response.created": turns.on_created,
            "response.done": turns.on_done,
            "response.output_audio.done": self._on_audio_done,
            "response.output_audio_transcript.delta": transcript_delta,
            "response.output_text.delta": text_delta,
            "response.output_audio_transcript.done": transcript_done,
            "response.output_text.done": text_done,
            "response.output_item.added": self._on_item,
            "response.output_item.done": self._on_output_item_done,
            "conversation.item.added": self._on_item,
            "conversation.item.created": self._on_item,
            "conversation.item.done": self._on_item,
            "conversation.item.retrieved": self._on_item,
            "conversation.item.deleted": self._on_item_deleted,
            "conversation.item.input_audio_transcription.completed": self._on_input_transcript,
            "input_audio_buffer.speech_started": speech_started,
            "input_audio_buffer.timeout_triggered": self._on_timeout_triggered,
            "output_audio_buffer.started": output_buffer,
            "output_audio_buffer.stopped": output_buffer,
            "output_audio_buffer.cleared": output_buffer,
            "input_audio_buffer.dtmf_event_received": dtmf_received,
            "error": self._on_error,
        }

    async def run(self, connection: Connection, *, raw: bool) -> None:
        """Read until the connection ends (cleanly, or by raising ``TransportError``).

        A server event of the wrong shape becomes an ``error`` session event; reading goes on.
        """
        handlers = self._handlers
        emit = self._seam.emit
        on_audio = self._on_audio_delta
        audio_delta = protocol.AUDIO_DELTA
        first: anyio.Event | None = self.first_event
        state = self._state
        try:
            async for event in connection:
                state.received += 1  # progress, for the response timeout (session.py)
                # try costs nothing until it catches (3.11+): malformed events pay, others don't.
                try:
                    kind = event.get("type", "")
                    if raw:  # a server may echo the session, hosted tools' credentials included
                        emit(ev.RawModelEvent(data=event if "session" not in event
                                              else dict(protocol.redact_secrets(event))))
                    if first is not None and kind == "session.created":
                        first.set()
                        first = None
                    if kind == audio_delta:
                        on_audio(event)
                        continue
                    handler = handlers.get(kind)
                    if handler is not None:
                        await handler(event)
                except _MALFORMED as exc:
                    self._seam.error(malformed(event, exc), kind="malformed_server_event")
        finally:
            self.first_event.set()

    def _on_audio_delta(self, event: ServerEvent) -> None:
        state = self._state
        response_id = event.get("response_id", "")
        if response_id in state.suppressed:
            return
        data = a2b_base64(event["delta"])
        item_id = event["item_id"]
        content_index = event.get("content_index", 0)
        state.playback.on_audio_received(item_id, content_index, response_id, len(data))
        state.audio_produced = True
        self._seam.emit(ev.AudioEvent(audio=data, item_id=item_id, content_index=content_index,
                                      response_id=response_id))

    async def _on_audio_done(self, event: ServerEvent) -> None:
        if event.get("response_id") not in self._state.suppressed:
            self._seam.emit(ev.AudioEndEvent(item_id=event.get("item_id", ""),
                                             content_index=event.get("content_index", 0)))

    async def _on_session_updated(self, event: ServerEvent) -> None:
        session = event.get("session")
        if isinstance(session, Mapping):
            adopt_live(self._state, session)

    def _history_changed(self, item: HistoryItem, added: bool) -> None:
        if added:
            self._seam.emit(ev.HistoryAddedEvent(item=item))
        else:
            self._seam.emit(ev.HistoryUpdatedEvent(history=self._state.history.items))

    async def _on_item(self, event: ServerEvent) -> None:
        item = event.get("item")
        if isinstance(item, Mapping):
            result = self._state.history.apply(item, event.get("previous_item_id"))
            if result is not None:
                self._history_changed(*result)
        elif "item" in event:
            self._seam.error(f"ignored a malformed server event {event.get('type')!r}: 'item' is a "
                             f"{type(item).__name__}, not an object", kind="malformed_server_event")

    async def _on_output_item_done(self, event: ServerEvent) -> None:
        await self._on_item(event)
        if protocol.is_function_call_done(event):
            await self._calls.dispatch(self._state.agent, event["item"])

    async def _on_item_deleted(self, event: ServerEvent) -> None:
        history = self._state.history
        if history.delete(event.get("item_id", "")):
            self._seam.emit(ev.HistoryUpdatedEvent(history=history.items))

    async def _on_input_transcript(self, event: ServerEvent) -> None:
        history = self._state.history
        self._history_changed(*history.set_input_transcript(event.get("item_id", ""),
                                                            event.get("transcript") or ""))

    async def _on_timeout_triggered(self, event: ServerEvent) -> None:
        self._seam.emit(ev.InputAudioTimeoutTriggeredEvent())

    async def _on_error(self, event: ServerEvent) -> None:
        error = event.get("error")
        error = dict(error) if isinstance(error, Mapping) else {"message": str(error)}
        if not self._cuts.is_own_cancel_race(error):
            self._seam.emit(ev.ErrorEvent(error=error))
        create = self._state.slot.on_error(error)
        if create is not None:
            await self._seam.send(create)
        await self._settle()


def adopt_live(state: SessionState, config: Mapping[str, object]) -> None:
    """Adopt ``config`` (sent, or confirmed by ``session.updated``) as the effective session."""
    state.live = dict(config)
    try:
        state.playback.set_format(output_format(config))
    except ValueError:
        pass  # an attached call without a known format: keep the previous byte rate
