"""Cutting the assistant off: ``audio_interrupted``, truncate at what was heard, cancel.

Barge-in, ``interrupt()`` and guardrail trips all cut the same way: ``audio_interrupted`` (the
app flushes its player), a ``conversation.item.truncate`` at what was actually played (so the
model's memory matches what the user heard, clamped to the audio received; see :mod:`.cuts`)
and, where the server is still producing the response, ``response.cancel``. Further audio of
a cut response is suppressed. This module only cuts; *why* is decided elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..transports import protocol
from . import events as ev
from .cuts import plan_cut
from .seam import Seam
from .session_config import interrupt_response
from .state import SessionState

__all__ = ("Interruptions",)


class Interruptions:
    """The cut and cancel actions of one session."""

    __slots__ = ("_cancels", "_own_cancels", "_seam", "_state")

    def __init__(self, state: SessionState, seam: Seam) -> None:
        self._state = state
        self._seam = seam
        self._cancels = 0
        self._own_cancels: set[str] = set()

    async def cut(self, response_id: str | None = None) -> bool:
        """Stop playback of the current audio item (of ``response_id`` only, when given) and
        truncate it at what was played. False when there was nothing to cut."""
        state = self._state
        playback = state.playback.state()
        cut = plan_cut(playback, response_id=response_id, more_coming=state.streaming() is not None)
        if cut is None or playback is None:
            return False
        state.history.truncate(cut.item_id, cut.audio_end_ms, playback.received_ms)  # replayed as heard
        state.suppressed.add(cut.response_id)
        self._seam.emit(ev.AudioInterruptedEvent(item_id=cut.item_id, content_index=cut.content_index))
        state.playback.reset()
        await self._seam.send(protocol.item_truncate(cut.item_id, cut.content_index, cut.audio_end_ms))
        return True

    async def cancel(self, response_id: str) -> None:
        """``response.cancel``. The response may end on its own before the cancel arrives; the
        server then answers ``response_cancel_not_active``, expected and not worth reporting."""
        self._cancels += 1
        event_id = f"rtg_response_cancel_{self._cancels}"
        self._own_cancels.add(event_id)
        await self._seam.send(protocol.response_cancel(response_id, event_id=event_id))

    def is_own_cancel_race(self, error: Mapping[str, Any]) -> bool:
        """True for the harmless ``response_cancel_not_active`` answer to a cancel we sent."""
        event_id = error.get("event_id")
        if error.get("code") != "response_cancel_not_active" or event_id not in self._own_cancels:
            return False
        self._own_cancels.discard(event_id)
        return True

    async def interrupt(self, *, force_cancel: bool) -> None:
        """Barge-in (``force_cancel=False``) or ``interrupt()``: cut, and cancel what is streaming."""
        streaming = self._state.streaming()
        await self.cut()
        # With interrupt_response the server cancels on barge-in itself; a second cancel would
        # only produce a response_cancel_not_active error.
        if streaming is not None and (force_cancel or not interrupt_response(self._state.live)):
            await self.cancel(streaming)
