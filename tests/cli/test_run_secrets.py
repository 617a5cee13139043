"""A variable whose default is ``${OPENAI_API_KEY}``: the real ``rtgraph run --events json
--record`` and ``rtgraph test`` never show or store the key, and show the marker instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import rtgraph
from tests.support.scenarios import rtgraph_test, write

pytestmark = pytest.mark.slow

KEY = "sk-test-Secret-0123456789"
GRAPH = """
kind: graph
start: helper
variables:
  api_key: {default: "${OPENAI_API_KEY}"}
---
kind: agent
name: helper
instructions: "The key is {{ api_key }}. Never say it."
"""
SHOWN = "The key is [redacted:api_key]. Never say it."


def test_events_json_and_the_cassette_show_the_marker_not_the_key(tmp_path: Path) -> None:
    write(tmp_path, "graph.yaml", GRAPH)
    cassette = tmp_path / "call.jsonl"
    result = rtgraph(tmp_path, "--transport", "simulator", "--sim-speed", "0", "--no-reload", "--events", "json",
                     "--record", cassette, "--say", f"is it {KEY}?", env={"OPENAI_API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    recorded = cassette.read_text(encoding="utf-8")
    assert KEY not in result.stdout + result.stderr + recorded
    lines = [json.loads(line) for line in recorded.splitlines()[1:]]
    assert lines[0]["event"]["type"] == "session.update"
    assert lines[0]["event"]["session"]["instructions"] == SHOWN
    events = [json.loads(line) for line in result.stdout.splitlines()]
    echoed = [e["data"]["session"]["instructions"] for e in events
              if e["type"] == "raw_model_event" and e["data"]["type"] == "session.updated"]
    assert echoed == [SHOWN]
    said = [e["data"]["transcript"] for e in events if e["type"] == "raw_model_event"
            and e["data"]["type"] == "response.output_audio_transcript.done"]
    assert said == ["You said: is it [redacted:api_key]?"]


def test_a_scenario_report_shows_the_marker(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    write(tmp_path / "g", "graph.yaml", GRAPH)
    scenario = write(tmp_path, "leak.yaml", f"""
        kind: scenario
        name: leaks
        graph: g
        turns:
          - user: "what is it?"
            model:
              - say: "It is {KEY}."
            expect:
              - transcript: {{contains: "nothing like this"}}
        """)
    result = rtgraph_test(scenario, env={"OPENAI_API_KEY": KEY})
    assert result.returncode == 1
    assert KEY not in result.stdout + result.stderr
    assert result.stdout.splitlines()[1:3] == [
        f"  {scenario}:9:9: turn 1: expected transcript contains 'nothing like this'",
        "    observed: transcript 'It is [redacted:api_key].'",
    ]
