"""Output guardrails of one session: per-response state and decisions, no I/O.

For every response this component knows its guardrails (the agent's then the graph's, by name),
the text seen so far (:class:`~.guardrails.GuardrailWindow`), whether it tripped, and how many
entrypoint checks are still out. The I/O shell (:mod:`.turns`) feeds it deltas, ends of text
and verdicts, and acts on what it returns:

- a :class:`Trip` (a ``deny`` pattern matched, or a verdict tripped): cut and report now;
- :class:`Check` s to run as tasks (entrypoint guardrails, debounced, and on every complete text);
- at the end of a response, a :class:`Finish`: whether to ask the model again, or stop because
  ``run.guardrails.max_consecutive_trips`` responses in a row tripped.

A response is *settled* once no check of it is out: only then is it done (``agent_end``, the
next ``response.create``, ``wait_idle``, the reload safe point).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph.model import Agent, Graph, Guardrail, GuardrailResult, RunSettings
from .guardrails import GuardrailWindow, check_deny, verdict

__all__ = ("Check", "Finish", "OutputGuardrails", "Trip")


@dataclass(frozen=True, slots=True)
class Trip:
    """The response tripped: report ``results`` about ``text``, cut it, and (at its end) retry."""

    response_id: str
    results: tuple[GuardrailResult, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Check:
    """Run entrypoint ``guardrail`` on ``text`` of ``response_id`` (one outstanding check)."""

    response_id: str
    guardrail: Guardrail
    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """What to do once a response is done: ``retry`` with ``names`` (the tripped guardrails),
    or ``stopped`` retrying after ``trips`` consecutive tripped responses."""

    tripped: bool
    retry: bool
    stopped: bool
    names: tuple[str, ...] = ()
    trips: int = 0


@dataclass(slots=True)
class _Response:
    agent: Agent
    guardrails: tuple[Guardrail, ...]
    tripped: tuple[GuardrailResult, ...] = ()
    pending: int = 0
    has_entrypoints: bool = False


class OutputGuardrails:
    """Guardrail state of one session's responses."""

    __slots__ = ("_consecutive", "_graph", "_max_trips", "_responses", "_window")

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._window = GuardrailWindow(graph.run.guardrail_debounce_text_length)
        self._max_trips = graph.run.guardrail_max_consecutive_trips
        self._responses: dict[str, _Response] = {}
        self._consecutive = 0

    def adopt(self, graph: Graph) -> None:
        """A hot-reloaded graph: responses from now on use its guardrails and run settings."""
        run: RunSettings = graph.run
        self._graph = graph
        self._window.debounce = run.guardrail_debounce_text_length
        self._max_trips = run.guardrail_max_consecutive_trips

    @property
    def pending(self) -> bool:
        """Some check is still out."""
        return any(r.pending for r in self._responses.values())

    def settled(self, response_id: str) -> bool:
        """No check of this response is out."""
        state = self._responses.get(response_id)
        return state is None or state.pending == 0

    def begin(self, response_id: str, agent: Agent) -> None:
        """A response started with ``agent`` active: fix its guardrails."""
        self._responses[response_id] = self._new(agent)

    def _new(self, agent: Agent) -> _Response:
        unique: dict[str, Guardrail] = {}
        for g in (*agent.output_guardrails, *self._graph.output_guardrails):
            unique.setdefault(g.name, g)
        guardrails = tuple(unique.values())
        return _Response(agent, guardrails, has_entrypoints=any(g.entrypoint for g in guardrails))

    def _state(self, response_id: str, agent: Agent) -> _Response:
        state = self._responses.get(response_id)
        if state is None:  # deltas without a response.created (raw or scripted servers)
            state = self._responses[response_id] = self._new(agent)
        return state

    def agent_of(self, response_id: str, default: Agent) -> Agent:
        state = self._responses.get(response_id)
        return default if state is None else state.agent

    # -- text ---------------------------------------------------------------------------------

    def on_delta(self, response_id: str, item_id: str, delta: str, agent: Agent) -> Trip | list[Check] | None:
        """A transcript/text delta: ``deny`` patterns on the new text, entrypoints when due."""
        state = self._state(response_id, agent)
        if state.tripped or not state.guardrails:
            return None
        text, start, due = self._window.feed(response_id, item_id, delta)
        # deny regexes on every delta: the offending words' audio follows its transcript delta,
        # so tripping here keeps it from the player; user code only every debounce characters.
        return self._check(state, response_id, text, start=start, final=False, entrypoints=due)

    def on_text_done(self, item_id: str, final_text: str | None) -> Trip | list[Check] | None:
        """An item's transcript/text is complete: check its unchecked tail."""
        tail = self._window.finish(item_id, final_text)
        if tail is None:
            return None
        response_id, text = tail
        state = self._responses.get(response_id)
        if state is None or state.tripped:
            return None
        return self._check(state, response_id, text, start=0, final=True, entrypoints=True)

    def on_response_done(self, response_id: str) -> list[Trip | list[Check] | None]:
        """The server ended the response: check the tails of items that never got a ``done``."""
        state = self._responses.get(response_id)
        tails = self._window.finish_response(response_id)
        if state is None or state.tripped:
            return []
        return [self._check(state, response_id, text, start=0, final=True, entrypoints=True) for text in tails]

    def _check(self, state: _Response, response_id: str, text: str, *, start: int, final: bool,
               entrypoints: bool) -> Trip | list[Check] | None:
        tripped = [r for g in state.guardrails
                   if g.deny and (r := check_deny(g, text, start=start, final=final)) is not None]
        if tripped:
            return self._trip(state, response_id, tripped, text)
        if not (entrypoints and state.has_entrypoints):
            return None
        checks = [Check(response_id, g, text) for g in state.guardrails if g.entrypoint is not None]
        state.pending += len(checks)
        return checks

    def _trip(self, state: _Response, response_id: str, results: list[GuardrailResult], text: str) -> Trip:
        state.tripped = tuple(results)
        self._window.drop_response(response_id)
        return Trip(response_id, tuple(results), text)

    # -- verdicts and the end of a response ---------------------------------------------------

    def on_verdict(self, check: Check, value: object) -> Trip | str | None:
        """An entrypoint check returned ``value`` (the check is no longer out). Returns the trip,
        the text of an error to report (not a verdict), or None."""
        state = self._responses.get(check.response_id)
        if state is None:
            return None
        state.pending -= 1
        result = verdict(check.guardrail.name, value)
        if isinstance(result, str):
            return result
        if not result.tripwire_triggered or state.tripped:
            return None  # once per response: the first trip is the one reported
        return self._trip(state, check.response_id, [result], check.text)

    def on_failed(self, check: Check) -> None:
        """An entrypoint check raised (reported by the caller): it is no longer out."""
        state = self._responses.get(check.response_id)
        if state is not None:
            state.pending -= 1

    def finish(self, response_id: str) -> Finish:
        """The response is done (settled): forget it and decide about a retry."""
        state = self._responses.pop(response_id, None)
        self._window.drop_response(response_id)
        if state is None or not state.tripped:
            self._consecutive = 0
            return Finish(tripped=False, retry=False, stopped=False)
        self._consecutive += 1
        names = tuple(dict.fromkeys(r.guardrail for r in state.tripped))
        if self._consecutive >= self._max_trips:
            trips, self._consecutive = self._consecutive, 0  # the next user turn starts afresh
            return Finish(tripped=True, retry=False, stopped=True, names=names, trips=trips)
        return Finish(tripped=True, retry=True, stopped=False, names=names, trips=self._consecutive)
