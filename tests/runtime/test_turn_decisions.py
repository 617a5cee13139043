"""The session's pure decisions, directly: what to cut and where, delivery accounting for
``wait_idle``, idleness and the reload safe point, reading a guardrail's verdict, and the output
guardrails' per-response decisions (trip, checks to run, when a response is settled, the retry
bound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from realtime_graph.graph.model import Guardrail, GuardrailResult, RunSettings
from realtime_graph.runtime.cuts import Cut, plan_cut
from realtime_graph.runtime.delivery import Delivery, is_idle, is_safe_point
from realtime_graph.runtime.guardrails import verdict
from realtime_graph.runtime.output_guardrails import Check, Finish, OutputGuardrails, Trip
from realtime_graph.runtime.playback import PlaybackState
from tests.support.builders import agent, deny, entry, graph

# -- plan_cut ------------------------------------------------------------------------------


def state(response_id: str = "r1", received: float = 500.0, played: float = 120.7) -> PlaybackState:
    return PlaybackState("i1", 0, response_id, received, played)


def test_cut_at_what_was_played() -> None:
    assert plan_cut(state(), response_id=None, more_coming=True) == Cut("i1", 0, "r1", 120)


def test_a_verdict_never_cuts_another_responses_audio() -> None:
    assert plan_cut(state("r2"), response_id="r1", more_coming=True) is None
    assert plan_cut(state("r1"), response_id="r1", more_coming=False) == Cut("i1", 0, "r1", 120)


def test_nothing_to_cut() -> None:
    assert plan_cut(None, response_id=None, more_coming=True) is None
    heard = state(received=500.0, played=500.0)
    assert plan_cut(heard, response_id=None, more_coming=False) is None  # all heard, nothing coming
    assert plan_cut(heard, response_id=None, more_coming=True) == Cut("i1", 0, "r1", 500)


# -- delivery, idleness, safe point --------------------------------------------------------


def test_delivery_waits_only_while_iterated_and_behind() -> None:
    d = Delivery()
    d.emitted = 5
    assert d.wait_for(iterating=False) is False
    d.delivered = 5
    assert d.wait_for(iterating=True) is False
    d.emitted = 8
    assert d.wait_for(iterating=True) is True and d.target == 8
    d.delivered = 7
    assert not d.reached()
    d.delivered = 8
    assert d.reached()


def test_delivery_target_only_grows() -> None:
    d = Delivery()
    d.emitted = 10
    assert d.wait_for(iterating=True) and d.target == 10
    d.delivered, d.emitted = 9, 9  # a second waiter cannot lower the shared target
    assert not d.wait_for(iterating=True) and d.target == 10


@pytest.mark.parametrize(("response", "tools", "checks", "idle"), [
    (False, False, False, True), (True, False, False, False), (False, True, False, False),
    (False, False, True, False)])
def test_is_idle(response: bool, tools: bool, checks: bool, idle: bool) -> None:
    assert is_idle(response_busy=response, tools_busy=tools, checks_pending=checks) is idle


def test_safe_point_ignores_parked_approvals_but_not_running_tools_or_verdicts() -> None:
    assert is_safe_point(response_busy=False, tools_running=0, checks_pending=False)
    assert not is_safe_point(response_busy=False, tools_running=1, checks_pending=False)
    assert not is_safe_point(response_busy=False, tools_running=0, checks_pending=True)
    assert not is_safe_point(response_busy=True, tools_running=0, checks_pending=False)


# -- verdict -------------------------------------------------------------------------------


@dataclass
class SdkOutput:
    """Shaped like the Agents SDK's GuardrailFunctionOutput (built here, not imported)."""

    output_info: Any
    tripwire_triggered: bool


def test_verdicts_that_are_read_as_they_are() -> None:
    assert verdict("g", True) == GuardrailResult(True, None, "g")
    assert verdict("g", False) == GuardrailResult(False, None, "g")
    assert verdict("g", None) == GuardrailResult(False, None, "g")
    assert verdict("g", GuardrailResult(True, {"x": 1})) == GuardrailResult(True, {"x": 1}, "g")
    assert verdict("g", GuardrailResult(True, None, "own")) == GuardrailResult(True, None, "own")


def test_sdk_shaped_verdicts() -> None:
    assert verdict("g", SdkOutput({"why": "ok"}, False)) == GuardrailResult(False, {"why": "ok"}, "g")
    assert verdict("g", SdkOutput({"why": "fruit"}, True)) == GuardrailResult(True, {"why": "fruit"}, "g")

    class NoInfo:
        tripwire_triggered = True

    assert verdict("g", NoInfo()) == GuardrailResult(True, None, "g")


@pytest.mark.parametrize(("value", "what"), [
    ("yes", "str"), (1, "int"), ([], "list"), ({"tripwire_triggered": True}, "dict"),
    (SdkOutput(None, "no"), "SdkOutput whose tripwire_triggered is str")])  # type: ignore[arg-type]
def test_anything_else_is_not_a_verdict(value: object, what: str) -> None:
    assert verdict("mod:check", value) == (
        f"guardrail 'mod:check' returned {what}; expected GuardrailResult, bool, None or an object "
        f"with a boolean tripwire_triggered. Counted as not tripped")


# -- OutputGuardrails ----------------------------------------------------------------------


def check_fn(text: str, context: object) -> bool:
    return False


def guards(*guardrails: Guardrail, debounce: int = 100, max_trips: int = 2) -> tuple[OutputGuardrails, Any]:
    a = agent(guardrails=guardrails)
    g = graph(a, run=RunSettings(guardrail_debounce_text_length=debounce,
                                 guardrail_max_consecutive_trips=max_trips))
    return OutputGuardrails(g), a


CHECK = Guardrail("check", entrypoint=entry(check_fn))


def test_deny_trips_on_the_delta_and_once_per_response() -> None:
    og, a = guards(deny("no_secrets", r"\bsecret\b"))
    og.begin("r1", a)
    assert og.on_delta("r1", "i1", "the ", a) is None
    trip = og.on_delta("r1", "i1", "secret is", a)
    assert isinstance(trip, Trip) and trip.text == "the secret is"
    assert trip.results[0].guardrail == "no_secrets"
    assert og.on_delta("r1", "i1", " secret", a) is None  # tripped: no more checks
    assert og.on_text_done("i1", "the secret is secret") is None


def test_entrypoint_checks_are_debounced_then_run_on_the_complete_text() -> None:
    og, a = guards(CHECK, debounce=10)
    og.begin("r1", a)
    assert og.on_delta("r1", "i1", "short", a) is None
    due = og.on_delta("r1", "i1", " and longer", a)
    assert due == [Check("r1", CHECK, "short and longer")]
    assert not og.settled("r1") and og.pending
    assert og.on_verdict(due[0], False) is None
    assert og.settled("r1") and not og.pending
    tail = og.on_text_done("i1", "short and longer.")
    assert tail == [Check("r1", CHECK, "short and longer.")]
    assert og.on_text_done("i1", None) is None  # an item's tail is checked once


def test_a_response_without_a_done_text_is_checked_when_it_ends() -> None:
    og, a = guards(CHECK)
    og.begin("r1", a)
    assert og.on_delta("r1", "i1", "banana", a) is None
    assert og.on_response_done("r1") == [[Check("r1", CHECK, "banana")]]
    assert og.on_response_done("r1") == []


def test_a_non_verdict_is_reported_and_counts_as_not_tripped() -> None:
    og, a = guards(CHECK)
    og.begin("r1", a)
    og.on_delta("r1", "i1", "banana", a)
    (check,) = og.on_text_done("i1", None)  # type: ignore[misc]
    assert og.on_verdict(check, "yes") == (
        "guardrail 'check' returned str; expected GuardrailResult, bool, None or an object with a "
        "boolean tripwire_triggered. Counted as not tripped")
    assert og.settled("r1")
    assert og.finish("r1") == Finish(tripped=False, retry=False, stopped=False)


def test_settled_only_when_every_check_is_in() -> None:
    other = Guardrail("other", entrypoint=entry(check_fn))
    og, a = guards(CHECK, other)
    og.begin("r1", a)
    og.on_delta("r1", "i1", "banana", a)
    c1, c2 = og.on_text_done("i1", None)  # type: ignore[misc]
    trip = og.on_verdict(c1, SdkOutput({"found": "banana"}, True))
    assert trip == Trip("r1", (GuardrailResult(True, {"found": "banana"}, "check"),), "banana")
    assert not og.settled("r1")
    og.on_failed(c2)
    assert og.settled("r1")


def test_retry_bound_counts_consecutive_tripped_responses() -> None:
    og, a = guards(deny("no", "banana"), max_trips=2)

    def respond(rid: str, text: str) -> Finish:
        og.begin(rid, a)
        og.on_delta(rid, "i" + rid, text, a)
        og.on_text_done("i" + rid, text)
        return og.finish(rid)

    assert respond("r1", "banana") == Finish(tripped=True, retry=True, stopped=False, names=("no",), trips=1)
    assert respond("r2", "banana") == Finish(tripped=True, retry=False, stopped=True, names=("no",), trips=2)
    # the next user turn starts afresh
    assert respond("r3", "banana") == Finish(tripped=True, retry=True, stopped=False, names=("no",), trips=1)
    assert respond("r4", "apple") == Finish(tripped=False, retry=False, stopped=False)
    assert respond("r5", "banana").trips == 1  # a clean response resets the count


def test_max_one_never_retries() -> None:
    og, a = guards(deny("no", "banana"), max_trips=1)
    og.begin("r1", a)
    og.on_delta("r1", "i1", "banana", a)
    assert og.finish("r1").stopped


def test_guardrails_are_fixed_per_response_and_adopt_changes_later_ones() -> None:
    og, a = guards(deny("no", "banana"))
    og.begin("r1", a)
    plain = agent()
    og.adopt(graph(plain))
    og.begin("r2", plain)
    assert isinstance(og.on_delta("r1", "i1", "banana", a), Trip)
    assert og.on_delta("r2", "i2", "banana", plain) is None
