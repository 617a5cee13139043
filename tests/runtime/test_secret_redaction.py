"""Secret variables (a default referencing a KEY/TOKEN/SECRET/PASSWORD variable): the model gets
the value, session events (``to_dict``) and cassettes get ``[redacted:<variable>]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_graph.config import load_string
from realtime_graph.redaction import Redactor
from realtime_graph.runtime import Runner
from realtime_graph.runtime.seam import secret_values
from realtime_graph.transports.recording import RecordingTransport
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import created, done, events_until, function_call, tool

KEY = "sk-live-0123456789abcdef"

GRAPH = """\
kind: graph
start: helper
variables:
  api_key: {default: "${SHOP_API_KEY}"}
  company: {default: "${COMPANY:-Acme}"}
---
kind: agent
name: helper
instructions: "You work for {{ company }}. Call the shop with key {{ api_key }}."
"""


# -- pure --------------------------------------------------------------------------------------

def test_text_and_data_are_redacted_exactly_and_unchanged_parts_stay_the_same_objects() -> None:
    redactor = Redactor({"api_key": KEY})
    assert redactor.text(f"key={KEY}; again {KEY}") == "key=[redacted:api_key]; again [redacted:api_key]"
    untouched = {"a": ["plain", {"b": 1}]}
    assert redactor.data(untouched) is untouched
    data = {"type": "x", "items": [untouched, (f"t {KEY}",)], KEY: 2.5}
    assert redactor.data(data) == {"type": "x", "items": [untouched, ("t [redacted:api_key]",)],
                                   "[redacted:api_key]": 2.5}
    assert redactor.data(data)["items"][0] is untouched
    assert data["items"][1] == (f"t {KEY}",)  # nothing modified in place


def test_json_escaped_forms_longest_first_short_values_and_audio_payloads() -> None:
    quoted = 'pa"ss\\wörd'
    redactor = Redactor({"pw": quoted, "outer": "abcd-long-abcd", "inner": "long", "pin": "123"})
    arguments = json.dumps({"password": quoted})  # a function call's JSON arguments (escaped form)
    assert redactor.text(arguments) == '{"password": "[redacted:pw]"}'
    assert redactor.text(json.dumps(quoted, ensure_ascii=False)) == '"[redacted:pw]"'
    assert redactor.text("abcd-long-abcd / long / 123") == "[redacted:outer] / [redacted:inner] / 123"
    audio = {"type": "input_audio_buffer.append", "audio": "xxlongxx"}
    assert redactor.data(audio) is audio  # base64 audio is never text
    event = {"type": "audio", "audio": "xxlongxx", "item_id": "long"}
    assert redactor.data(event) == {"type": "audio", "audio": "xxlongxx", "item_id": "[redacted:inner]"}
    assert redactor.data({"type": "response.output_audio_transcript.delta", "delta": "so long"}) == {
        "type": "response.output_audio_transcript.delta", "delta": "so [redacted:inner]"}
    assert not Redactor({"x": "abc"}) and Redactor({"x": "abcd"})
    assert repr(Redactor({"x": KEY})) == "Redactor(1 forms)"


def test_update_replaces_the_values() -> None:
    redactor = Redactor({"api_key": "first-value"})
    redactor.update({"api_key": "second-value"})
    assert redactor.text("first-value second-value") == "first-value [redacted:api_key]"


def test_secret_values_are_those_of_credential_like_defaults() -> None:
    graph = load_string(GRAPH, environ={"SHOP_API_KEY": KEY})
    assert graph.variables["api_key"].secret and not graph.variables["company"].secret
    assert secret_values(graph, {"api_key": KEY, "company": "Acme"}) == {"api_key": KEY}


# -- a session -----------------------------------------------------------------------------------

def _echo(instructions: str) -> dict:
    return {"type": "session.updated", "session": {"type": "realtime", "instructions": instructions}}


@pytest.mark.anyio
async def test_the_model_gets_the_value_events_and_the_cassette_get_the_marker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", KEY)
    monkeypatch.delenv("COMPANY", raising=False)

    def leak() -> str:
        raise RuntimeError(f"auth failed for {KEY}")

    from dataclasses import replace
    graph = load_string(GRAPH)
    graph = replace(graph, agents={"helper": replace(graph.agents["helper"], tools=(tool(leak),))})
    real = f"You work for Acme. Call the shop with key {KEY}."
    shown = "You work for Acme. Call the shop with key [redacted:api_key]."
    scripted = ScriptedTransport(strict=False)
    cassette = tmp_path / "call.jsonl"
    async with Runner(graph, transport=RecordingTransport(scripted, cassette)).run() as session:
        scripted.push(_echo(real), created("r1"), function_call("r1", "c1", "leak"), done("r1"))
        got = await events_until(session, lambda e: e.type == "tool_end", raw=True)
    assert scripted.sent[0]["session"]["instructions"] == real  # the model needs the value
    dicts = [e.to_dict() for e in got]
    assert KEY not in json.dumps(dicts)
    echoed = next(d for d in dicts if d["type"] == "raw_model_event" and d["data"]["type"] == "session.updated")
    assert echoed["data"]["session"]["instructions"] == shown
    error = next(d for d in dicts if d["type"] == "error")
    assert error["error"]["message"] == ("An error occurred while running the tool 'leak': "
                                         "RuntimeError: auth failed for [redacted:api_key]")
    raw = next(e for e in got if e.type == "raw_model_event" and e.data["type"] == "session.updated")
    assert raw.data["session"]["instructions"] == real  # event objects are as they happened ...
    assert next(e for e in got if e.type == "error").error == error["error"]  # ... but error texts are shown as is
    lines = cassette.read_text(encoding="utf-8")
    assert KEY not in lines
    events = [json.loads(line) for line in lines.splitlines()[1:]]
    assert [e["event"]["type"] for e in events[:3]] == ["session.update", "session.created", "session.updated"]
    assert events[0]["event"]["session"]["instructions"] == shown
    assert events[2]["event"] == _echo(shown)
    output = next(e["event"]["item"]["output"] for e in events
                  if e["event"]["type"] == "conversation.item.create")
    assert output == "An error occurred while running the tool 'leak': RuntimeError: auth failed for [redacted:api_key]"


@pytest.mark.anyio
async def test_a_context_value_for_a_secret_variable_is_the_one_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", KEY)
    scripted = ScriptedTransport(strict=False)
    async with Runner(load_string(GRAPH), transport=scripted).run(context={"api_key": "per-call-key-42"}) as session:
        scripted.push(_echo(f"key per-call-key-42 and {KEY}"))
        got = await events_until(session, lambda e: e.type == "raw_model_event"
                                 and e.data["type"] == "session.updated", raw=True)
    assert got[-1].to_dict()["data"]["session"]["instructions"] == f"key [redacted:api_key] and {KEY}"


@pytest.mark.anyio
async def test_the_redactor_follows_a_graph_update(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_KEY", KEY)
    monkeypatch.delenv("COMPANY", raising=False)
    before = load_string(GRAPH.replace('"${SHOP_API_KEY}"', "plain-value"))
    assert not before.variables["api_key"].secret
    scripted = ScriptedTransport(strict=False)
    async with Runner(before, transport=scripted).run() as session:
        scripted.push(_echo("plain-value"))
        first = await events_until(session, lambda e: e.type == "raw_model_event"
                                   and e.data["type"] == "session.updated", raw=True)
        session.update_graph(load_string(GRAPH))
        await events_until(session, lambda e: e.type == "graph_updated")
        scripted.push(_echo(f"plain-value {KEY}"))
        second = await events_until(session, lambda e: e.type == "raw_model_event"
                                    and e.data["type"] == "session.updated", raw=True)
    assert first[-1].to_dict()["data"]["session"]["instructions"] == "plain-value"
    assert second[-1].to_dict()["data"]["session"]["instructions"] == "plain-value [redacted:api_key]"
    update = [e for e in scripted.sent if e["type"] == "session.update"][-1]
    assert update["session"]["instructions"] == f"You work for Acme. Call the shop with key {KEY}."
