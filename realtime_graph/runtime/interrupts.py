"""Cutting the assistant off: barge-in, ``interrupt()``, and output-guardrail trips.

All three end the same way: ``audio_interrupted`` (the app flushes its player), a
``conversation.item.truncate`` at what was actually played (so the model's memory matches what
the user heard, clamped to the audio received) and, where needed, ``response.cancel``. Further
audio of the cut response is suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..graph.model import Graph, Guardrail, GuardrailResult
from ..transports import protocol
from ..transports.base import ServerEvent
from . import events as ev
from .guardrails import GuardrailWindow, check_deny, run_guardrail
from .settings import interrupt_response
from .tools import describe

if TYPE_CHECKING:
    from .session import Session

__all__ = ("Interrupts",)


class Interrupts:
    """Interruption and guardrail state of one session."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self.suppressed: set[str] = set()
        """Response ids whose further audio must not reach the app."""
        self._tripped: set[str] = set()
        self._by_response: dict[str, tuple[Guardrail, ...]] = {}
        self._cancels = 0
        self._own_cancels: set[str] = set()
        self._window = GuardrailWindow(session.graph.run.guardrail_debounce_text_length)

    def adopt(self, graph: Graph) -> None:
        """A hot-reloaded graph: later checks follow its run settings."""
        self._window.debounce = graph.run.guardrail_debounce_text_length

    def response_finished(self, response_id: str) -> None:
        self._window.drop_response(response_id)
        self._by_response.pop(response_id, None)
        self.suppressed.discard(response_id)
        self._tripped.discard(response_id)

    # -- barge-in and interrupt() ---------------------------------------------------------------

    async def on_speech_started(self, event: ServerEvent) -> None:
        await self.interrupt_audio(force_cancel=False)

    async def _cut_audio(self, response_id: str | None = None) -> bool:
        """Stop playback of the current audio item and truncate it at what was played."""
        state = self._s.playback_tracker.state()
        if state is None or (response_id is not None and state.response_id != response_id):
            return False
        if state.finished and self._s.slot.active is None:
            return False  # everything was heard and nothing more is coming: nothing to cut
        self.suppressed.add(state.response_id)
        self._s.emit(ev.AudioInterruptedEvent(item_id=state.item_id, content_index=state.content_index))
        self._s.playback_tracker.reset()
        await self._s.send(protocol.item_truncate(state.item_id, state.content_index, int(state.played_ms)))
        return True

    async def _cancel(self, response_id: str) -> None:
        # The response may end on its own before the cancel arrives; the server then answers
        # response_cancel_not_active, which is expected and not worth reporting (see is_own_cancel).
        self._cancels += 1
        event_id = f"rtg_response_cancel_{self._cancels}"
        self._own_cancels.add(event_id)
        await self._s.send(protocol.response_cancel(response_id, event_id=event_id))

    def is_own_cancel_race(self, error: Mapping[str, Any]) -> bool:
        """True for the harmless ``response_cancel_not_active`` answer to a cancel we sent."""
        event_id = error.get("event_id")
        if error.get("code") != "response_cancel_not_active" or event_id not in self._own_cancels:
            return False
        self._own_cancels.discard(event_id)
        return True

    async def interrupt_audio(self, *, force_cancel: bool) -> None:
        active = self._s.slot.active
        await self._cut_audio()
        # With interrupt_response the server cancels on barge-in itself; a second cancel would
        # only produce a response_cancel_not_active error.
        if active is not None and (force_cancel or not interrupt_response(self._s.live)):
            await self._cancel(active)

    # -- output guardrails ----------------------------------------------------------------------

    def _guardrails(self, response_id: str) -> tuple[Guardrail, ...]:
        """The response's guardrails (agent's then graph's, by name), computed once per response."""
        cached = self._by_response.get(response_id)
        if cached is None:
            agent = self._s.response_agents.get(response_id, self._s.current_agent)
            unique: dict[str, Guardrail] = {}
            for g in (*agent.output_guardrails, *self._s.graph.output_guardrails):
                unique.setdefault(g.name, g)
            cached = self._by_response[response_id] = tuple(unique.values())
        return cached

    async def _on_delta(self, event: ServerEvent, key: str) -> None:
        item_id = event.get("item_id", "")
        delta = event.get("delta") or ""
        self._s.add_transcript_delta(item_id, event.get("content_index", 0), delta, key)
        response_id = event.get("response_id", "")
        if response_id in self._tripped:
            return
        guardrails = self._guardrails(response_id)
        if not guardrails:
            return
        text, start, due = self._window.feed(response_id, item_id, delta)
        # deny regexes on every delta: the offending words' audio follows its transcript delta,
        # so tripping here keeps it from the player; user code only every debounce characters.
        await self._check(guardrails, response_id, text, start=start, final=False, entrypoints=due)

    async def on_transcript_delta(self, event: ServerEvent) -> None:
        await self._on_delta(event, "transcript")

    async def on_text_delta(self, event: ServerEvent) -> None:
        await self._on_delta(event, "text")

    async def _on_done(self, event: ServerEvent, key: str) -> None:
        tail = self._window.finish(event.get("item_id", ""), event.get(key))
        if tail is not None and tail[0] not in self._tripped:
            response_id, text = tail
            await self._check(self._guardrails(response_id), response_id, text, start=0, final=True)

    async def on_transcript_done(self, event: ServerEvent) -> None:
        await self._on_done(event, "transcript")

    async def on_text_done(self, event: ServerEvent) -> None:
        await self._on_done(event, "text")

    async def _check(self, guardrails: tuple[Guardrail, ...], response_id: str, text: str, *,
                     start: int, final: bool, entrypoints: bool = True) -> None:
        tripped = [r for g in guardrails
                   if g.deny and (r := check_deny(g, text, start=start, final=final)) is not None]
        if tripped:
            await self.trip(response_id, tripped, text)
            return
        if entrypoints:
            for g in guardrails:
                if g.entrypoint is not None:
                    self._s.start_soon(self._run_entrypoint, g, response_id, text)

    async def _run_entrypoint(self, guardrail: Guardrail, response_id: str, text: str) -> None:
        agent = self._s.response_agents.get(response_id, self._s.current_agent)
        try:
            result = await run_guardrail(guardrail, text, self._s.call_context(agent))
        except Exception as exc:  # a broken guardrail is reported and skipped
            self._s.error(f"guardrail {guardrail.name!r} failed: {describe(exc)}")
            return
        if result.tripwire_triggered:
            await self.trip(response_id, [result], text)

    async def trip(self, response_id: str, results: list[GuardrailResult], text: str) -> None:
        """Once per response: report, cancel, cut the audio, and ask the model for another answer."""
        if response_id in self._tripped:
            return
        self._tripped.add(response_id)
        self.suppressed.add(response_id)
        self._s.emit(ev.GuardrailTrippedEvent(guardrail_results=results, message=text))
        if self._s.slot.active == response_id:
            await self._cancel(response_id)
        await self._cut_audio(response_id)
        if self._s.slot.active not in (None, response_id):
            return  # a newer response already replaced this one
        names = ", ".join(r.guardrail for r in results)
        await self._s.send(protocol.user_message(f"guardrail triggered: {names}"))
        await self._s.request_response()
