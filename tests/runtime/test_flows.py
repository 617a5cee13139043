"""Handoffs, guardrails, barge-in/interrupt truncation, and hot graph updates."""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.graph.model import GuardrailResult, RunSettings
from realtime_graph.runtime import PlaybackTracker, Runner
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import (
    agent,
    audio,
    created,
    deny,
    done,
    entry,
    events_until,
    function_call,
    graph,
    handoff,
    message_added,
    sent_types,
    tool,
    transcript,
    transcript_done,
    types,
)

pytestmark = pytest.mark.anyio

G711 = {"audio": {"input": {"format": {"type": "audio/pcmu"}},
                  "output": {"format": {"type": "audio/pcmu"}}}}


async def test_handoff_order_and_g711_formats_survive() -> None:
    seen = []

    def on_handoff(context) -> None:
        seen.append((context.agent, context.call_id))

    def lookup() -> str:
        return "x"

    triage = agent("triage", "Triage.", handoffs=[handoff("billing", on_handoff)])
    billing = agent("billing", "Billing for {{ persona }}.", tools=[tool(lookup)],
                    model_settings={"tool_choice": "required"})
    g = graph(triage, billing, model_settings=G711)
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        got = await events_until(session, lambda e: e.type == "agent_end")
        await anyio.wait_all_tasks_blocked()
        got += await events_until(session, lambda e: e.type == "history_updated", timeout=1)
        assert session.current_agent.name == "billing"
    assert seen == [("triage", "c1")]
    handoff_event = next(e for e in got if e.type == "handoff")
    assert (handoff_event.from_agent.name, handoff_event.to_agent.name) == ("triage", "billing")
    assert next(e for e in got if e.type == "agent_end").agent.name == "triage"
    assert sent_types(transport) == ["session.update", "session.update", "conversation.item.create",
                                     "response.create"]
    update = transport.sent[1]["session"]
    assert update["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert update["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert update["instructions"] == "Billing for helpful."
    assert update["tool_choice"] == "required"
    assert [t["name"] for t in update["tools"]] == ["lookup"]
    assert "tracing" not in update
    assert transport.sent[2]["item"] == {"type": "function_call_output", "call_id": "c1",
                                         "output": '{"assistant": "billing"}'}


async def test_update_agent_sends_update_without_handoff_event() -> None:
    g = graph(agent("a", "A."), agent("b", "B."), model_settings=G711)
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        await session.update_agent("b")
        transport.push(created("r1"))
        got = await events_until(session, lambda e: e.type == "agent_start")
    assert "handoff" not in types(got) and got[-1].agent.name == "b"
    assert transport.sent[1]["session"]["instructions"] == "B."
    assert transport.sent[1]["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


def _speech(rid: str, item: str, words: list[str], bad: str) -> list[dict]:
    """Words interleaved as transcript delta then 100 ms of audio each (PCM 48 bytes/ms)."""
    events = [created(rid), message_added(rid, item)]
    for w in words:
        events += [transcript(rid, item, w + " "), audio(rid, item, w.encode().ljust(4800, b"\0"))]
    return events


async def test_guardrail_trip_cuts_audio_before_the_offending_word() -> None:
    clock = [0.0]
    words = ["Sure", "the", "secret", "code", "is", "1234"]
    g = graph(agent(guardrails=[deny("no_secrets", r"\bsecret\b")]),
              run=RunSettings(guardrail_debounce_text_length=1))
    tracker = PlaybackTracker(clock=lambda: clock[0])
    transport = ScriptedTransport(strict=False)
    speech = _speech("r1", "i1", words, "secret")
    async with Runner(g, transport=transport, playback_tracker=tracker).run() as session:
        transport.push(*speech[:6])  # "Sure", "the": 200 ms of audio received
        got = await events_until(session, lambda e: e.type == "audio" and e.audio.startswith(b"the"))
        clock[0] = 0.15  # the player is 150 ms into the item when "secret" arrives
        transport.push(*speech[6:])
        got += await events_until(session, lambda e: e.type == "audio_interrupted")
        transport.push(done("r1", "cancelled"))
        await anyio.wait_all_tasks_blocked()
    played = [e.audio.rstrip(b"\0").decode() for e in got if e.type == "audio"]
    trip = got.index(next(e for e in got if e.type == "guardrail_tripped"))
    assert played == ["Sure", "the"]  # "secret" and after never reached the player
    assert all(e.type != "audio" for e in got[trip:])
    assert got[trip].guardrail_results[0].guardrail == "no_secrets"
    kinds = sent_types(transport)
    assert kinds[1:] == ["response.cancel", "conversation.item.truncate", "conversation.item.create",
                         "response.create"]
    assert transport.sent[1] == {"type": "response.cancel", "response_id": "r1", "event_id": "rtg_response_cancel_1"}
    assert transport.sent[2] == {"type": "conversation.item.truncate", "item_id": "i1", "content_index": 0,
                                "audio_end_ms": 150}  # cut at what the player had played
    assert transport.sent[3]["item"]["content"][0]["text"] == "guardrail triggered: no_secrets"


async def test_tail_check_catches_text_shorter_than_debounce() -> None:
    def no_refunds(text: str, context) -> GuardrailResult:
        return GuardrailResult("refund" in text, {"len": len(text)})

    from realtime_graph.graph.model import Guardrail
    g = graph(agent(guardrails=[Guardrail("refunds", entrypoint=entry(no_refunds))]))  # debounce 100
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(created("r1"), message_added("r1", "i1"), transcript("r1", "i1", "Full refund!"),
                       transcript_done("r1", "i1", "Full refund!"))
        got = await events_until(session, lambda e: e.type == "guardrail_tripped")
    assert got[-1].message == "Full refund!"
    assert got[-1].guardrail_results[0].guardrail == "refunds"


async def test_barge_in_truncates_at_played_ms_clamped_and_no_cancel_with_auto_interrupt() -> None:
    clock = [0.0]
    tracker = PlaybackTracker(clock=lambda: clock[0])
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport, playback_tracker=tracker).run() as session:
        transport.push(created("r1"), audio("r1", "i1", b"\0" * 4800))  # 100 ms received
        await events_until(session, lambda e: e.type == "audio")
        clock[0] = 5.0  # wall clock says 5 s: clamp to the 100 ms actually received
        transport.push({"type": "input_audio_buffer.speech_started", "item_id": "u1", "audio_start_ms": 1})
        got = await events_until(session, lambda e: e.type == "audio_interrupted")
        transport.push(audio("r1", "i1", b"\0" * 480))  # late audio of the cut response
        transport.push(created("r2"))
        got = await events_until(session, lambda e: e.type == "agent_start")
    assert "audio" not in types(got)
    assert transport.sent[1:] == [{"type": "conversation.item.truncate", "item_id": "i1", "content_index": 0,
                                   "audio_end_ms": 100}]


async def test_reported_playback_and_interrupt_cancels() -> None:
    tracker = PlaybackTracker()
    g = graph(model_settings={"audio": {"input": {"turn_detection": {"type": "server_vad",
                                                                     "interrupt_response": False}},
                                        "output": {"format": {"type": "audio/pcmu"}}}})
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport, playback_tracker=tracker).run() as session:
        transport.push(created("r1"), audio("r1", "i1", b"\0" * 8000))  # 1000 ms of G.711
        await events_until(session, lambda e: e.type == "audio")
        tracker.on_play_bytes("i1", 0, 2000)  # the phone played 250 ms
        await session.interrupt()
    assert transport.sent[1:] == [
        {"type": "conversation.item.truncate", "item_id": "i1", "content_index": 0, "audio_end_ms": 250},
        {"type": "response.cancel", "response_id": "r1", "event_id": "rtg_response_cancel_1"}]


async def test_speech_started_without_audio_does_nothing() -> None:
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(), transport=transport).run() as session:
        transport.push({"type": "input_audio_buffer.speech_started"}, created("r1"))
        await events_until(session, lambda e: e.type == "agent_start")
    assert sent_types(transport) == ["session.update"]


async def test_update_graph_waits_for_the_safe_point() -> None:
    g1 = graph(agent("a", "Old."), model_settings=G711)
    g2 = graph(agent("a", "New.", model_settings={"audio": {"output": {"voice": "verse"}}}), version="v2",
               model_settings={"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}})
    transport = ScriptedTransport(strict=False)
    async with Runner(g1, transport=transport).run() as session:
        transport.push(created("r1"), audio("r1", "i1", b"\0" * 80))
        await events_until(session, lambda e: e.type == "audio")
        session.update_graph(g2)
        await anyio.wait_all_tasks_blocked()
        assert sent_types(transport) == ["session.update"]  # mid-response: not yet
        transport.push(done("r1"))
        got = await events_until(session, lambda e: e.type == "graph_updated")
    update = got[-1]
    assert (update.graph_version, update.previous_version, update.pinned) == ("v2", "v1", False)
    assert update.kept == ["audio.input.format", "audio.output.format", "audio.output.voice"]
    assert got[-2].graph_version == "v1" and session.graph.version == "v2"
    sent = transport.sent[1]["session"]
    assert sent["instructions"] == "New."
    assert sent["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert sent["audio"]["output"]["voice"] == "ash"


async def test_update_graph_pins_a_removed_agent() -> None:
    g1 = graph(agent("a", "A."))
    g2 = graph(agent("b", "B."), version="v2")
    transport = ScriptedTransport(strict=False)
    async with Runner(g1, transport=transport).run() as session:
        session.update_graph(g2)
        got = await events_until(session, lambda e: e.type == "graph_updated")
    assert got[-1].pinned is True and session.current_agent.name == "a"
    assert transport.sent[1]["session"]["instructions"] == "A."
