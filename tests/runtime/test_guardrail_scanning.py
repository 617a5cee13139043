"""How built-in ``deny`` guardrails scan streamed text: incrementally, without trusting a match
that may be the start of a longer word, and once more over the complete text."""

from __future__ import annotations

import re

from realtime_graph.graph.model import Guardrail
from realtime_graph.runtime.guardrails import DENY_OVERLAP, GuardrailWindow, check_deny

PASSWORD = Guardrail(name="no_password", deny=(re.compile(r"\bpass\b"), re.compile(r"password")))


def stream(deltas: list[str]) -> list[tuple[int, dict | None]]:
    """Feed deltas as the session does; the index and info of the per-delta trip (at most one per
    response, as in the session)."""
    window = GuardrailWindow(debounce=100)
    trips = []
    for i, delta in enumerate(deltas):
        text, start, _ = window.feed("resp_1", "item_1", delta)
        result = check_deny(PASSWORD, text, start=start, final=False)
        if result is not None:
            trips.append((i, result.info))
            break
    return trips


def test_a_word_split_across_deltas_is_not_mistaken_for_a_shorter_word() -> None:
    # "pass" alone at the end of partial text matches \bpass\b, but the word goes on.
    assert stream(["my pass", "word is"]) == [(1, {"pattern": "password", "match": "password"})]


def test_a_match_that_survives_any_continuation_trips_immediately() -> None:
    assert stream(["my password", "s are"]) == [(0, {"pattern": "password", "match": "password"})]


def test_a_complete_word_trips_on_the_delta_that_completes_it() -> None:
    assert stream(["take the pass", " now"]) == [(1, {"pattern": r"\bpass\b", "match": "pass"})]


def test_partial_text_ending_in_a_match_trips_once_final() -> None:
    assert check_deny(PASSWORD, "here is the pass", final=False) is None
    result = check_deny(PASSWORD, "here is the pass", final=True)
    assert result is not None and result.info == {"pattern": r"\bpass\b", "match": "pass"}


def test_a_match_spanning_deltas_within_the_overlap_is_found() -> None:
    filler = "x " * 200
    assert stream([filler + "pass", "word", " and more"]) == [(1, {"pattern": "password", "match": "password"})]


def test_per_delta_scans_start_at_most_the_overlap_before_the_new_text() -> None:
    window = GuardrailWindow(debounce=100)
    window.feed("resp_1", "item_1", "a" * 1000)
    text, start, _ = window.feed("resp_1", "item_1", "b")
    assert (len(text), start) == (1001, 1000 - DENY_OVERLAP)


def test_debounce_thresholds_mark_entrypoint_checks_due() -> None:
    window = GuardrailWindow(debounce=10)
    due = [window.feed("r", "i", "12345")[2] for _ in range(5)]
    assert due == [False, True, False, True, False]
    assert window.finish("i", None) == ("r", "1234512345123451234512345")
