"""A response from start to done: ``agent_start``, the output guardrails, ``agent_end``, the retry.

A response is *done* only when the server ended it **and** every output guardrail has judged
its complete text. Until then ``agent_end`` is held back, the response slot stays busy (no next
``response.create``, no ``wait_idle`` return, no reload safe point), so a verdict always lands
on the response it judged and never cuts or edits a later one.

A trip reports ``guardrail_tripped``, cancels the response if the server is still producing it
and cuts its audio (if any is still unplayed). Once the tripped response is done the model is
told which guardrail tripped and asked again, at most until
``run.guardrails.max_consecutive_trips`` responses in a row tripped; then an ``error`` event
says the session stopped retrying, and the next user turn starts afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from ..transports import protocol
from ..transports.base import ServerEvent
from . import events as ev
from .cuts import plan_cut
from .guardrails import run_guardrail
from .interruption import Interruptions
from .output_guardrails import Check, OutputGuardrails, Trip
from .seam import Seam
from .state import SessionState
from .tools import describe

__all__ = ("Turns",)


class Turns:
    """Response lifecycle and output-guardrail actions of one session."""

    __slots__ = ("_cuts", "_guardrails", "_seam", "_settle", "_state")

    def __init__(self, state: SessionState, seam: Seam, guardrails: OutputGuardrails, cuts: Interruptions,
                 settle: Callable[[], Awaitable[None]]) -> None:
        self._state = state
        self._seam = seam
        self._guardrails = guardrails
        self._cuts = cuts
        self._settle = settle

    # -- server events ----------------------------------------------------------------------

    async def on_created(self, event: ServerEvent) -> None:
        state = self._state
        response_id = (event.get("response") or {}).get("id", "")
        state.slot.on_created(response_id)
        agent = state.agent
        state.response_agents[response_id] = agent
        self._guardrails.begin(response_id, agent)
        start = ev.AgentStartEvent(agent=agent)
        self._seam.emit(start)
        if self._seam.hooks_defined("on_agent_start", agent):
            self._seam.start_soon(self._seam.run_hooks, "on_agent_start", agent, start)

    async def on_done(self, event: ServerEvent) -> None:
        state = self._state
        response_id = (event.get("response") or {}).get("id")
        if response_id is None:
            response_id = state.slot.active or ""
        state.server_done.add(response_id)
        for decision in self._guardrails.on_response_done(response_id):
            await self._act(decision)
        if self._guardrails.settled(response_id):
            await self._finish(response_id)

    async def on_delta(self, event: ServerEvent, key: str) -> None:
        item_id = event.get("item_id", "")
        delta = event.get("delta") or ""
        state = self._state
        state.history.add_transcript_delta(item_id, event.get("content_index", 0), delta, key)
        decision = self._guardrails.on_delta(event.get("response_id", ""), item_id, delta, state.agent)
        if decision is not None:
            await self._act(decision)

    async def on_text_done(self, event: ServerEvent, key: str) -> None:
        decision = self._guardrails.on_text_done(event.get("item_id", ""), event.get(key))
        if decision is not None:
            await self._act(decision)

    # -- guardrail decisions ----------------------------------------------------------------

    async def _act(self, decision: Trip | list[Check] | None) -> None:
        if isinstance(decision, Trip):
            await self._trip(decision)
        elif decision:
            for check in decision:
                self._seam.start_soon(self._run_check, check)

    async def _run_check(self, check: Check) -> None:
        guardrails, seam = self._guardrails, self._seam
        agent = guardrails.agent_of(check.response_id, self._state.agent)
        assert check.guardrail.entrypoint is not None
        timeout = self._state.graph.run.guardrail_timeout
        try:
            with anyio.fail_after(timeout):
                value = await run_guardrail(check.guardrail, check.text, seam.call_context(agent))
        except TimeoutError:
            guardrails.on_failed(check)
            seam.error(f"guardrail {check.guardrail.name!r} did not return within {timeout:g}s "
                       f"(run.guardrails.timeout); counted as not tripped",
                       guardrail=check.guardrail.name, kind="guardrail_timeout")
        except Exception as exc:  # a broken guardrail is reported and counted as not tripped
            guardrails.on_failed(check)
            seam.error(f"guardrail {check.guardrail.name!r} failed: {describe(exc)}")
        else:
            outcome = guardrails.on_verdict(check, value)
            if isinstance(outcome, str):
                seam.error(outcome, guardrail=check.guardrail.name)
            elif outcome is not None:
                await self._trip(outcome)
        if check.response_id in self._state.server_done and guardrails.settled(check.response_id):
            await self._finish(check.response_id)

    async def _trip(self, trip: Trip) -> None:
        """Report, cancel if still streaming, cut this response's audio (never a later one's)."""
        state = self._state
        state.suppressed.add(trip.response_id)
        self._seam.emit(ev.GuardrailTrippedEvent(guardrail_results=list(trip.results), message=trip.text))
        if state.streaming() == trip.response_id:
            await self._cuts.cancel(trip.response_id)
        await self._cuts.cut(trip.response_id)

    async def abandon(self, timeout: float) -> None:
        """No progress on the response in flight for ``timeout`` s: report it, tell the server to
        stop, and end the turn here (``agent_end``, the slot freed); late events are dropped."""
        state, seam = self._state, self._seam
        active = state.streaming()
        what = f"response {active!r}" if active else "the requested response (no response.created)"
        seam.error(f"no progress on {what} from the realtime server within {timeout:g}s "
                   f"(run.timeouts.response); the turn was ended", kind="response_timeout")
        if active is None:
            create = state.slot.abandon()
            if create is not None:
                await seam.send(create)
            await self._settle()
            return
        await self._cuts.cancel(active)  # its "not active" answer, if any, is not reported
        state.server_done.add(active)
        await self._finish(active)  # agent_end, the slot freed, any queued create sent
        state.suppressed.add(active)  # its late audio never reaches the app

    async def fail_in_flight(self, why: str | None) -> bool:
        """The connection carrying the response in flight is gone (a reconnect follows): end the
        turn here without telling the server: an ``error`` (``why``, when given), its unplayed
        audio flushed (``audio_interrupted``), ``agent_end``. True when a response was in
        progress or requested."""
        state, seam = self._state, self._seam
        active = state.streaming()
        busy = active is not None or state.slot.pending is not None
        if busy and why:
            what = f"response {active!r}" if active else "the requested response"
            seam.error(why.format(what=what), kind="response_interrupted")
        if active is not None:
            cut = plan_cut(state.playback.state(), response_id=active, more_coming=True)
            if cut is not None and active not in state.suppressed:
                seam.emit(ev.AudioInterruptedEvent(item_id=cut.item_id, content_index=cut.content_index))
                state.playback.reset()
            state.server_done.add(active)
            await self._finish(active)
        return busy

    # -- the end of a response --------------------------------------------------------------

    async def _finish(self, response_id: str) -> None:
        """The response is done: ``agent_end``, the retry decision, the next queued create."""
        state, seam = self._state, self._seam
        if response_id not in state.server_done:
            return  # already finished (a late duplicate response.done)
        state.server_done.discard(response_id)
        agent = state.response_agents.pop(response_id, None)
        if agent is not None:
            end = ev.AgentEndEvent(agent=agent)
            seam.emit(end)
            if seam.hooks_defined("on_agent_end", agent):
                seam.start_soon(seam.run_hooks, "on_agent_end", agent, end)
        finish = self._guardrails.finish(response_id)
        state.suppressed.discard(response_id)
        if finish.retry and state.slot.active in (None, response_id):
            await seam.send(protocol.user_message(f"guardrail triggered: {', '.join(finish.names)}"))
            await seam.request_response()
        elif finish.stopped:
            seam.error(f"guardrail {', '.join(map(repr, finish.names))} tripped on {finish.trips} responses in a row; "
                       f"not asking the model again (run.guardrails.max_consecutive_trips: {finish.trips}). "
                       f"The next user turn starts afresh", kind="guardrail_retries_exhausted")
        create = state.slot.on_done(response_id)
        if create is not None:
            await seam.send(create)
        await self._settle()
