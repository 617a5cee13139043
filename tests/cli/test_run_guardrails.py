"""``rtgraph run`` waits for the output guardrails' verdict before a turn counts as done: the trip
of a short reply is printed before exit, and never lands on the next turn (real subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_graph.cli.run import SIMULATOR_NOTICE
from tests.support.cli import rtgraph, version_of

pytestmark = pytest.mark.slow

GRAPH = """kind: graph
start: assistant
---
kind: agent
name: assistant
instructions: You are helpful.
output_guardrails:
  - {entrypoint: "fruit:no_fruit"}
"""

CODE = '''def no_fruit(text, context):
    return "banana" in text.lower()
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "graph.yaml").write_text(GRAPH, encoding="utf-8")
    (tmp_path / "fruit.py").write_text(CODE, encoding="utf-8")
    return tmp_path


def tripped_turn() -> list[str]:
    return ["you: banana", "assistant: You said: banana",
            "! guardrail tripped (fruit:no_fruit): You said: banana",
            "* interrupted",
            "you: guardrail triggered: fruit:no_fruit",
            "assistant: You said: guardrail triggered: fruit:no_fruit"]


def test_say_prints_the_trip_of_a_short_reply_before_exit(folder: Path) -> None:
    result = rtgraph(folder, "--say", "banana", "--sim-speed", "0", "--no-reload")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        SIMULATOR_NOTICE, f"* session started: graph {version_of(folder)}, agent assistant", *tripped_turn()]


@pytest.mark.parametrize("piped", [False, True])
def test_the_second_turn_is_intact(folder: Path, piped: bool) -> None:
    if piped:
        result = rtgraph(folder, "--sim-speed", "0", "--no-reload", stdin="banana\nhello there\n")
    else:
        result = rtgraph(folder, "--say", "banana", "--say", "hello there", "--sim-speed", "0", "--no-reload")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        SIMULATOR_NOTICE, f"* session started: graph {version_of(folder)}, agent assistant", *tripped_turn(),
        "you: hello there", "assistant: You said: hello there"]


def test_events_json_shows_the_trip_on_the_response_it_judged(folder: Path) -> None:
    result = rtgraph(folder, "--say", "banana", "--say", "hello there", "--sim-speed", "0", "--no-reload",
                     "--events", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events if e["type"] not in ("raw_model_event", "audio", "history_added",
                                                            "history_updated")]
    assert kinds == ["agent_start", "audio_end", "guardrail_tripped", "audio_interrupted", "agent_end",
                     "agent_start", "audio_end", "agent_end", "agent_start", "audio_end", "agent_end"]
    tripped = next(e for e in events if e["type"] == "guardrail_tripped")
    assert tripped["message"] == "You said: banana"
    created = [e["data"]["response"]["id"] for e in events
               if e["type"] == "raw_model_event" and e["data"]["type"] == "response.created"]
    cut = next(e for e in events if e["type"] == "raw_model_event"
               and e["data"]["type"] == "conversation.item.truncated")
    first_item = next(e["data"]["item"]["id"] for e in events if e["type"] == "raw_model_event"
                      and e["data"]["type"] == "response.output_item.added")
    assert len(created) == 3 and cut["data"]["item_id"] == first_item  # only the judged reply was cut
