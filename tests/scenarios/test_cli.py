"""``rtgraph test`` as users run it: real subprocesses, real files, exact output and exit codes."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.cli import rtgraph as rtgraph_run
from tests.support.cli import served
from tests.support.scenarios import EXAMPLE_GRAPH, rtgraph_test, write

pytestmark = pytest.mark.slow

FAILING = """
kind: scenario
name: wrong_city
graph: {graph}
turns:
  - user: "What's the weather in Paris?"
    model:
      - handoff: weather
      - call: {{tool: get_weather, arguments: {{city: Paris}}}}
    expect:
      - handoff: weather
      - tool_called: {{name: get_weather, arguments: {{city: London}}}}
      - agent: concierge
"""


def _failing(tmp_path):
    return write(tmp_path, "failing.yaml", FAILING.format(graph=EXAMPLE_GRAPH))


def test_failing_scenario_shows_expected_versus_observed_at_the_expectation_line(tmp_path) -> None:
    path = _failing(tmp_path)
    result = rtgraph_test(path)
    assert result.returncode == 1
    lines = [re.sub(r"\(\+\d+ ms\)", "(+N ms)", re.sub(r"\(\d+\.\d\d s\)", "(T s)", line))
             for line in result.stdout.splitlines()]
    assert lines[:5] == [
        f"FAIL {path}::wrong_city  (T s)",
        f"  {path}:11:9: turn 1: expected tool get_weather called with arguments ⊇ {{\"city\": \"London\"}}",
        '    observed: tool get_weather {"city": "Paris"} → "The weather in Paris is sunny, 21 °C."  (+N ms)',
        f"  {path}:12:9: turn 1: expected active agent concierge",
        "    observed: active agent weather",
    ]
    assert lines[-1].startswith("0 passed, 1 failed in ")


def test_github_format_annotates_the_failing_lines(tmp_path) -> None:
    path = _failing(tmp_path)
    result = rtgraph_test(path, "--format", "github")
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert [e.split("::")[1] for e in errors] == [
        f"error file={path},line=11,col=9,title=scenario wrong_city failed",
        f"error file={path},line=12,col=9,title=scenario wrong_city failed",
    ]
    assert "%0Aobserved: active agent weather" in errors[1]


def test_json_format_lists_failures_with_locations(tmp_path) -> None:
    path = _failing(tmp_path)
    result = rtgraph_test(path, "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["passed"] is False
    (scenario,) = report["scenarios"]
    assert [(f["line"], f["column"], f["expected"]) for f in scenario["failures"]] == [
        (11, 9, 'tool get_weather called with arguments ⊇ {"city": "London"}'),
        (12, 9, "active agent concierge")]
    assert report["coverage"]["handoffs"] == {"covered": ["concierge → weather"], "total": 4, "missing": [
        "booking → concierge", "concierge → booking", "weather → concierge"]}


def test_invalid_scenario_file_is_a_located_error_and_exit_1(tmp_path) -> None:
    path = write(tmp_path, "bad.yaml", """
        kind: scenario
        name: typo
        turns:
          - user: hi
            expct: []
    """)
    result = rtgraph_test(path, "--graph", EXAMPLE_GRAPH)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}:5:5: error SC111: unknown key 'expct'",
                                          "  hint: did you mean 'expect'?", "1 error, 0 warnings"]


def test_usage_errors_exit_2(tmp_path) -> None:
    assert rtgraph_test("--repeat", "0").returncode == 2
    result = rtgraph_test("-k", "no_such_scenario")
    assert (result.returncode, result.stderr) == (2, "rtgraph test: no scenario matches -k 'no_such_scenario'\n")
    result = rtgraph_test("--transport", "openai", env={"OPENAI_API_KEY": ""})
    assert result.returncode == 2
    assert result.stderr == ("rtgraph test: --transport openai needs an API key: set OPENAI_API_KEY "
                             "(or transport.api_key in the graph)\n")


def test_fail_under_fails_when_coverage_is_too_low() -> None:
    result = rtgraph_test("-k", "weather_in_paris", "--fail-under", "50")
    assert result.returncode == 1
    assert "  agents     2/3  missing: booking" in result.stdout.splitlines()
    assert result.stderr == "rtgraph test: graph coverage 40.0% is under --fail-under 50%\n"
    assert rtgraph_test("-k", "weather_in_paris", "--fail-under", "40").returncode == 0


def test_recorded_cassette_becomes_a_passing_regression_scenario(tmp_path) -> None:
    cassette = tmp_path / "call.jsonl"
    recorded = rtgraph_run(EXAMPLE_GRAPH, "--transport", "simulator", "--sim-speed", "0", "--no-reload",
                           "--say", "What's the weather in Paris?", "--record", cassette)
    assert recorded.returncode == 0, recorded.stderr
    converted = rtgraph_test("--from-cassette", cassette)
    assert converted.returncode == 0, converted.stderr
    scenario = tmp_path / "recorded.yaml"
    scenario.write_text(converted.stdout, encoding="utf-8")
    text = converted.stdout
    assert "name: call\n" in text and "- handoff: weather\n" in text
    assert "tool_called:\n      name: get_weather\n      arguments:\n        city: Paris\n      exact: true" in text
    result = rtgraph_test(scenario, "--graph", EXAMPLE_GRAPH)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"PASS {scenario}::call  (")


def test_from_cassette_refuses_a_file_that_is_not_a_cassette(tmp_path) -> None:
    path = write(tmp_path, "x.jsonl", '{"hello": 1}\n')
    result = rtgraph_test("--from-cassette", path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:1:1: error SC130: not a cassette: the first line must be the header")


LIVE = """
kind: scenario
name: live_weather
agent: weather
turns:
  - user: "What's the weather in Paris?"
    model:
      - say: "This scripted line is ignored live."
    expect:
      - tool_called: {name: get_weather, arguments: {city: Paris}}
      - transcript: {contains: "sunny, 21"}
"""


def test_live_mode_ignores_the_script_and_repeats(tmp_path) -> None:
    path = write(tmp_path, "live.yaml", LIVE)
    # "Live" here is the OpenAI transport pointed at a simulator with no script: whatever the
    # scenario scripted must not reach it, so only the default model behaviour answers.
    with served("") as server:
        result = rtgraph_test(path, "--graph", EXAMPLE_GRAPH, "--transport", "openai", "--url", server["url"],
                              "--repeat", "3", env={"OPENAI_API_KEY": server["OPENAI_API_KEY"]})
    assert result.returncode == 0, result.stdout + result.stderr
    first, *_, last = result.stdout.splitlines()
    assert re.fullmatch(rf"PASS {re.escape(str(path))}::live_weather  \(\d+\.\d\d s\)  3/3 runs", first)
    assert re.fullmatch(r"1 passed, 0 failed; 3/3 runs passed \(100%\) in \d+\.\d\d s \(live\)", last)


def test_live_mode_failure_reports_the_pass_rate(tmp_path) -> None:
    path = write(tmp_path, "live.yaml", LIVE.replace("sunny, 21", "scripted line is ignored"))
    with served("") as server:
        result = rtgraph_test(path, "--graph", EXAMPLE_GRAPH, "--transport", "openai", "--url", server["url"],
                              "--repeat", "2", env={"OPENAI_API_KEY": server["OPENAI_API_KEY"]})
    assert result.returncode == 1
    assert "  0/2 runs" in result.stdout.splitlines()[0]
    assert "  run 1: " in result.stdout and "  run 2: " in result.stdout
