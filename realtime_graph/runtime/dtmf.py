"""Keypad digits: a ``dtmf`` session event, then the active agent's declared route for the digit.

Digits arrive from the server (``input_audio_buffer.dtmf_event_received`` on SIP calls) or from a
channel that carries them itself (Twilio's ``dtmf`` message, through ``Session.send_dtmf``). The
agent's ``dtmf:`` map (docs/telephony.md, "DTMF") says what a digit does:

- ``{handoff: AGENT}``: switch to AGENT (a ``handoff`` event, the ``on_handoff`` hooks), which answers;
- ``{say: TEXT}``: the assistant says TEXT (a response with "say exactly" instructions);
- ``{send: TEXT}``: TEXT is sent as the caller's turn and the model answers it.

A routed digit first cuts the assistant off (the caller chose; the menu need not finish), exactly
as ``interrupt()`` does. A digit without a route is only reported.
"""

from __future__ import annotations

from ..graph.model import DtmfRoute
from ..transports import protocol
from . import events as ev
from .agent_switch import AgentSwitch
from .interruption import Interruptions
from .seam import Seam
from .state import SessionState
from .tools import describe

__all__ = ("DTMF_DIGITS", "DtmfRouter", "say_exactly")

DTMF_DIGITS = frozenset("0123456789*#ABCD")


def say_exactly(text: str) -> dict[str, object]:
    """The ``response.create`` that makes the assistant say ``text`` (pure)."""
    return {"type": "response.create",
            "response": {"instructions": f"Say exactly the following, and nothing else: {text}"}}


class DtmfRouter:
    """Applies the ``dtmf:`` routes of one session's active agent."""

    __slots__ = ("_cuts", "_seam", "_state", "_switch")

    def __init__(self, state: SessionState, seam: Seam, switch: AgentSwitch, cuts: Interruptions) -> None:
        self._state = state
        self._seam = seam
        self._switch = switch
        self._cuts = cuts

    async def on_digit(self, digit: str, source: str) -> None:
        """Report ``digit`` and run its route. Unknown characters are an ``error`` event."""
        if digit not in DTMF_DIGITS:
            self._seam.error(f"ignored DTMF {digit[:8]!r} from {source}: not a keypad digit (0-9, *, #, A-D)",
                             kind="malformed_dtmf")
            return
        agent = self._state.agent
        route = agent.dtmf.get(digit)
        self._seam.emit(ev.DtmfEvent(digit=digit, source=source, agent=agent,
                                     action=route.action if route is not None else None))
        if route is None:
            return
        await self._cuts.interrupt(force_cancel=True)
        await self._run(route)

    async def _run(self, route: DtmfRoute) -> None:
        seam = self._seam
        if route.action == "say":
            await seam.request_response(say_exactly(route.value))
        elif route.action == "send":
            await seam.send(protocol.user_message(route.value))
            await seam.request_response()
        else:
            await self._handoff(route.value)

    async def _handoff(self, name: str) -> None:
        state = self._state
        source = state.agent
        target = state.graph.agents.get(name)
        try:
            if target is None:  # a hand-built graph; the loader reports this as RG610
                raise LookupError(f"agent {name!r} is not in the graph")
            switch = await self._switch.prepare(target)
        except Exception as exc:  # a template that fails to render: no switch, the caller hears nothing new
            self._seam.error(f"dtmf handoff to {name!r} failed: {describe(exc)}", kind="dtmf_handoff")
            return
        await self._switch.commit(switch)
        event = ev.HandoffEvent(from_agent=source, to_agent=target)
        self._seam.emit(event)
        await self._seam.run_hooks("on_handoff", source, event)
        await self._seam.request_response()
