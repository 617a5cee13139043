"""The scenario runner in-process: real sessions on the simulator over loopback, exact failures,
mocks, barge-in, coverage, JUnit read back, and the pure parts (script generation, matching)."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from realtime_graph.errors import ConfigError
from realtime_graph.scenarios import (
    TurnRecord,
    check_turn,
    failure_lines,
    load_suite,
    render,
    render_junit,
    run_suite,
    script_for,
    select,
)
from realtime_graph.scenarios.parsing import load_scenarios
from realtime_graph.transports.simulator.vocabulary import Call, Handoff, Say
from tests.support.scenarios import EXAMPLE_GRAPH, write

pytestmark = pytest.mark.anyio


def suite_of(tmp_path, text: str):
    write(tmp_path, "s.yaml", text)
    return load_suite([tmp_path / "s.yaml"], graph=EXAMPLE_GRAPH)


async def run(tmp_path, text: str):
    suite = suite_of(tmp_path, text)
    report = await run_suite(suite)
    return suite, report


async def test_mock_returns_and_delay_bound_by_within_ms(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: slow_forecast
        agent: weather
        mocks:
          get_weather: {returns: {forecast: snow}, delay_ms: 300}
        turns:
          - user: "weather in Oslo"
            model:
              - call: {tool: get_weather, arguments: {city: Oslo}}
            expect:
              - tool_called: {name: get_weather, result: {forecast: snow}}
              - tool_called: get_weather
                within_ms: 100
              - transcript: 'get_weather returned {"forecast": "snow"}.'
    """)
    (result,) = report.results
    assert [f.mismatch.expected for f in result.failures] == ["tool get_weather called within 100 ms"]
    observed = result.failures[0].mismatch.observed[0]
    assert observed.startswith('tool get_weather {"city": "Oslo"} → {"forecast": "snow"}')
    expected = f"{tmp_path / 's.yaml'}:12:9: turn 1: expected tool get_weather called within 100 ms"
    assert failure_lines(result)[0] == expected


async def test_unexpected_error_event_fails_the_turn(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: server_hiccup
        turns:
          - user: "hello"
            model:
              - fail: {code: server_error, message: "The server had an error."}
              - say: "Hello!"
    """)
    (result,) = report.results
    assert [(f.turn, f.mismatch.expected, f.mismatch.observed[0].split("  (+")[0]) for f in result.failures] == [
        (0, "no error event (none expected)", "error server_error: The server had an error.")]
    assert failure_lines(result)[0] == f"{tmp_path / 's.yaml'}:4:5: turn 1: expected no error event (none expected)"


async def test_in_order_and_absent(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: order
        turns:
          - user: "weather in Rome"
            in_order: true
            model:
              - handoff: weather
              - call: {tool: get_weather, arguments: {city: Rome}}
            expect:
              - tool_called: get_weather
              - handoff: weather
              - handoff: booking
                absent: true
    """)
    (result,) = report.results
    assert [f.mismatch.expected for f in result.failures] == ["handoff * → weather"]
    assert result.failures[0].mismatch.observed[0].startswith("handoff concierge → weather")


async def test_absent_expectation_that_happens_fails(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: leak
        turns:
          - user: "card"
            model:
              - say: "It is 4111 1111 1111 1111."
            expect:
              - guardrail_tripped: no_card_numbers
                absent: true
    """)
    (result,) = report.results
    assert [f.mismatch.expected for f in result.failures] == ["no guardrail no_card_numbers tripped"]
    assert result.failures[0].mismatch.observed[0].startswith("guardrail no_card_numbers tripped")


async def test_dtmf_turn_reaches_the_model_as_a_message(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: keypad
        turns:
          - dtmf: "1#"
            expect:
              - transcript: {equals: "You said: DTMF: 1#"}
    """)
    assert report.passed, render(report)


async def test_barge_in_truncates_at_the_played_position(tmp_path) -> None:
    _, report = await run(tmp_path, """
        kind: scenario
        name: barge
        turns:
          - user: "talk"
            model:
              - say: "This is a long answer that takes several seconds of audio to play back to the caller."
          - send_after: {event: audio, delay_ms: 400}
            interrupt: true
            user: "stop"
            expect:
              - interruption: {audio_end_ms: {min: 5000}}
    """)
    (result,) = report.results
    (failure,) = result.failures
    assert failure.mismatch.expected == "an interruption truncating the audio at 5000..∞ ms"
    observed = failure.mismatch.observed[0]
    played = int(observed.split("audio truncated at ")[1].split(" ms")[0])
    assert 350 <= played <= 3000, observed  # what the wall-clock playback tracker says was heard


async def test_coverage_figures_and_junit_read_back(tmp_path) -> None:
    _suite, report = await run(tmp_path, """
        kind: scenario
        name: one
        turns:
          - user: "weather"
            model:
              - handoff: weather
              - call: {tool: get_weather, arguments: {city: Paris}}
            expect:
              - tool_called: get_weather
        ---
        kind: scenario
        name: two
        turns:
          - user: "x"
            expect:
              - agent: booking
    """)
    coverage = report.coverage
    assert coverage is not None and round(coverage.percent, 1) == 40.0
    assert {a.name: (a.covered, a.missing) for a in coverage.areas} == {
        "agents": (("concierge", "weather"), ("booking",)),
        "tools": (("weather.get_weather",), ("booking.book_table",)),
        "handoffs": (("concierge → weather",), ("booking → concierge", "concierge → booking", "weather → concierge")),
        "guardrails": ((), ("no_card_numbers",)),
    }
    root = ElementTree.fromstring(render_junit(report).split("\n", 1)[1])
    (testsuite,) = root
    assert (testsuite.get("tests"), testsuite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c for c in testsuite}
    assert cases["one"].find("failure") is None
    failure = cases["two"].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == "turn 1: expected active agent booking"
    assert failure.text.splitlines()[1] == "  observed: active agent concierge"
    assert json.loads(render(report, "json"))["coverage"]["percent"] == 40.0


async def test_repeat_and_jobs_keep_results_in_order(tmp_path) -> None:
    suite = suite_of(tmp_path, """
        kind: scenario
        name: a
        turns: [{user: hi, expect: [{transcript: "You said: hi"}]}]
        ---
        kind: scenario
        name: b
        turns: [{user: yo, expect: [{transcript: "You said: yo"}]}]
    """)
    report = await run_suite(suite, select(suite.scenarios, "::b"), repeat=3, jobs=3)
    assert [(r.spec.name, r.run, r.passed) for r in report.results] == [("b", 0, True), ("b", 1, True), ("b", 2, True)]
    assert render(report).splitlines()[0].endswith("3/3 runs")


def test_names_the_graph_lacks_are_located_errors(tmp_path) -> None:
    write(tmp_path, "s.yaml", """
        kind: scenario
        name: typos
        mocks:
          get_wether: {returns: x}
        turns:
          - user: hi
            model:
              - handoff: billing
            expect:
              - tool_called: book_tabel
    """)
    with pytest.raises(ConfigError) as info:
        load_suite([tmp_path / "s.yaml"], graph=EXAMPLE_GRAPH)
    assert [(i.code, i.line, i.column, i.message, i.hint) for i in info.value.issues] == [
        ("SC120", 4, 15, "no tool named 'get_wether' in the graph", "did you mean 'get_weather'?"),
        ("SC120", 8, 18, "no agent named 'billing' in the graph", "agents: booking, concierge, weather"),
        ("SC120", 10, 9, "no tool named 'book_tabel' in the graph", "did you mean 'book_table'?"),
    ]


@pytest.mark.parametrize("body, expected", [
    ("turns: []", [("SC110", 3, 8, "must not be empty")]),
    ("turns:\n  - {user: a, dtmf: '1'}", [("SC114", 4, 5, "a turn has at most one input; got user, dtmf")]),
    ("turns:\n  - expect: [{agent: a, handoff: b}]",
     [("SC113", 4, 14, "an expectation names exactly one of tool_called, handoff, agent, transcript, "
                       "guardrail_tripped, approval_requested, interruption, error; got agent, handoff")]),
    ("turns:\n  - expect: [{transcript: {matches: '('}}]",
     [("SC110", 4, 37, "bad regular expression: missing ), unterminated subpattern at position 0")]),
    ("turns:\n  - audio: nope.wav", [("SC115", 4, 12, "audio file 'nope.wav' not found")]),
    ("turns:\n  - model: [{say: a, call: {tool: x}}]",
     [("SC110", 4, 13, "an action has exactly one key: say, call, handoff or fail")]),
    ("turns:\n  - send_after: {event: audios}",
     [("SC110", 4, 25, "must be one of agent_start, agent_end, handoff, tool_start, tool_end, tool_approval_required, "
                       "audio, audio_end, audio_interrupted, error, history_added, guardrail_tripped, got 'audios'")]),
], ids=["empty-turns", "two-inputs", "two-kinds", "bad-regex", "missing-wav", "two-keys-action", "bad-event"])
def test_scenario_format_errors_are_located(tmp_path, body, expected) -> None:
    write(tmp_path, "s.yaml", f"kind: scenario\nname: x\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_scenarios([tmp_path / "s.yaml"])
    assert [(i.code, i.line, i.column, i.message) for i in info.value.issues] == expected


def test_other_documents_are_refused(tmp_path) -> None:
    write(tmp_path, "s.yaml", "kind: agent\nname: x\ninstructions: hi\n")
    with pytest.raises(ConfigError) as info:
        load_scenarios([tmp_path / "s.yaml"])
    (issue,) = info.value.issues
    assert (issue.code, issue.line, issue.message) == (
        "SC113", 1, "expected a `kind: scenario` document, got kind 'agent'")


def test_script_generation_splits_responses_at_calls_and_handoffs(tmp_path) -> None:
    suite = suite_of(tmp_path, """
        kind: scenario
        name: s
        turns:
          - user: "Weather (Paris)?"
            model:
              - handoff: weather
              - say: "Checking."
              - call: {tool: get_weather, arguments: {city: Paris}}
              - say: "Sunny."
          - user: "no script here"
    """)
    (spec,) = suite.scenarios
    script = script_for(spec, suite.graphs[suite.default_graph])
    assert [t.actions for t in script.turns] == [
        (Handoff(tool="transfer_to_weather"),),
        (Say("Checking."), Call("get_weather", '{"city": "Paris"}')),
        (Say("Sunny."),),
    ]
    assert all(t.matches("weather (paris)?") and not t.matches("Weather (Paris)? more") for t in script.turns)


def test_matching_reports_what_was_observed_instead() -> None:
    from realtime_graph.scenarios.spec import Expectation

    record = TurnRecord(events=[
        (1.0, {"type": "tool_start", "call_id": "c1", "tool": "t", "arguments": '{"a": 1, "b": 2}', "agent": "x"}),
        (9.0, {"type": "tool_end", "call_id": "c1", "tool": "t", "arguments": '{"a": 1, "b": 2}', "agent": "x",
               "output": "ok"}),
    ], agent="x")
    exact = Expectation("tool_called", {"name": "t", "arguments": {"a": 1}, "exact": True})
    subset = Expectation("tool_called", {"name": "t", "arguments": {"a": 1}, "result": "ok"})
    (mismatch,) = check_turn([exact, subset], record)
    assert mismatch.expected == 'tool t called with arguments = {"a": 1}'
    assert mismatch.observed == ('tool t {"a": 1, "b": 2} → "ok"  (+9 ms)',)
