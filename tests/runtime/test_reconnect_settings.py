"""``run.reconnect`` in the graph file: defaults, values, ``null``, located schema errors; and the
simulator's ``Drop`` fault as a pure engine wrapper."""

from __future__ import annotations

from realtime_graph.config import load_string, render_issues, validate_string
from realtime_graph.graph.model import ReconnectSettings
from realtime_graph.transports.simulator.faults import Drop, FaultyEngine, fault_budget
from realtime_graph.transports.simulator.vocabulary import Batch


def _graph(run: str) -> str:
    return f"kind: graph\nstart: a\n{run}\n---\nkind: agent\nname: a\ninstructions: Hi.\n"


def test_reconnect_is_on_by_default_with_documented_settings() -> None:
    assert load_string(_graph("")).run.reconnect == ReconnectSettings(
        enabled=True, max_attempts=5, backoff_initial=0.5, backoff_max=8.0, max_session_age=3300.0)


def test_reconnect_settings_are_read_from_the_run_block() -> None:
    graph = load_string(_graph("run:\n  reconnect: {enabled: false, max_attempts: 3, backoff_initial: 100ms, "
                               "backoff_max: 2s, max_session_age: null}"))
    assert graph.run.reconnect == ReconnectSettings(enabled=False, max_attempts=3, backoff_initial=0.1,
                                                    backoff_max=2.0, max_session_age=None)
    assert load_string(_graph("run:\n  reconnect: {max_session_age: 20m}")).run.reconnect.max_session_age == 1200.0


def test_bad_reconnect_settings_are_located_errors() -> None:
    report = validate_string(_graph("run:\n  reconnect: {max_attempts: 0, backoff_max: soon, retry: true}"))
    assert render_issues(report.issues).splitlines() == [
        "<string>:4:29: error RG110: must be >= 1",
        "  hint: Connection attempts per drop before the session ends (default 5).",
        "<string>:4:45: error RG110: 'soon' has an invalid format",
        "  hint: A duration such as `500ms`, `5s`, `1.5s` or `2m`; a bare number means seconds.",
        "<string>:4:51: error RG111: unknown key 'retry'",
        "  hint: valid keys: enabled, max_attempts, backoff_initial, backoff_max, max_session_age",
        "3 errors, 0 warnings",
    ]


class _Inner:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def open(self):
        return [{"type": "session.created"}]

    def receive(self, event):
        self.batches = [Batch(events=[{"type": "response.output_audio.delta", "delta": "AA=="}] * 3),
                        Batch(events=[{"type": "response.done", "response": {"id": "r1"}}])]
        return [{"type": "response.created", "response": {"id": "r1"}}]

    def next_batch(self):
        return self.batches.pop(0) if self.batches else None


def test_drop_cuts_the_output_after_the_counted_event_then_closes() -> None:
    engine = FaultyEngine(_Inner(), [Drop(after="response.output_audio.delta", count=2, code=1012, reason="bye")])
    assert engine.open() == [{"type": "session.created"}]
    assert engine.receive({"type": "response.create"}) == [{"type": "response.created", "response": {"id": "r1"}}]
    assert engine.next_batch().events == [{"type": "response.output_audio.delta", "delta": "AA=="}] * 2
    assert engine.next_batch().close == (1012, "bye")
    assert engine.next_batch() is None
    assert engine.receive({"type": "response.create"}) == []  # nothing more on this connection


def test_drop_sends_its_error_first_and_its_budget_is_shared_by_connections() -> None:
    expired = {"code": "session_expired", "message": "expired"}
    faults = [Drop(after=None, count=1, code=1000, reason="", error=expired)]
    budget = fault_budget(faults)
    first = FaultyEngine(_Inner(), faults, budget)
    assert first.open() == [{"type": "session.created"},
                            {"type": "error", "event_id": "event_fault_drop", "error": expired}]
    assert first.next_batch().close == (1000, "")
    second = FaultyEngine(_Inner(), faults, budget)
    assert second.open() == [{"type": "session.created"}]  # used up: the next connection is healthy
    assert len(second.receive({"type": "response.create"})) == 1
