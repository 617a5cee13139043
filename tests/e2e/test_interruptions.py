"""Barge-in and ``interrupt()`` end to end: audio_interrupted, and a truncate at what was played.

Audio is paced in real time so the session's wall-clock playback tracker has something to
measure; the truncate point must never exceed the audio received (the API rejects that).
"""

from __future__ import annotations

import base64

import pytest

from realtime_graph.audio import PCM24K, silence
from realtime_graph.runtime import PlaybackTracker, Runner
from tests.support.simulated import events_until, kinds, one_agent, simulator, until_ends, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


BYTES_PER_MS = 48
QUIET = frozenset({"raw_model_event", "history_added", "history_updated"})


def _received_ms(got, response_id: str) -> float:
    return sum(len(e.audio) for e in got if e.type == "audio" and e.response_id == response_id) / BYTES_PER_MS


async def test_scripted_barge_in_truncates_at_what_was_played(load_graph) -> None:
    graph, _ = load_graph(one_agent())  # default: semantic VAD, interrupt_response
    transport, sim = simulator("""
    - actions:
        - say: {text: "Let me tell you a rather long story about the sea.", audio_ms: 1000}
        - barge_in: {at_ms: 400}
    - actions:
        - say: {text: "Go ahead.", audio_ms: 100}
    """, realtime_factor=1.0)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("tell me a story")
        cut = await until_ends(session)
        # The user keeps talking until they go quiet: then VAD commits and the model answers.
        await session.send_audio(silence(PCM24K, 600))
        answer = await until_ends(session)
        await session.wait_idle()

    response_id = sim.emitted_of("response.created")[0]["response"]["id"]
    item_id = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
    assert kinds(cut, QUIET) == ["agent_start", "audio", "audio", "audio", "audio", "audio_interrupted", "agent_end"]
    interrupted = next(e for e in cut if e.type == "audio_interrupted")
    assert (interrupted.item_id, interrupted.content_index) == (item_id, 0)
    assert kinds(answer, QUIET) == ["agent_start", "audio", "audio_end", "agent_end"]
    # interrupt_response: the server cancelled by itself, so the client only truncates.
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.truncate"]
    truncate = sim.received[3]
    received_ms = _received_ms(cut, response_id)
    assert received_ms == 400
    assert 250 <= truncate["audio_end_ms"] <= received_ms
    assert truncate == {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                        "audio_end_ms": truncate["audio_end_ms"]}
    assert sim.emitted_of("response.done")[0]["response"]["status_details"] == {
        "type": "cancelled", "reason": "turn_detected"}
    assert sim.emitted_of("conversation.item.truncated")[0]["audio_end_ms"] == truncate["audio_end_ms"]
    assert sim.emitted_of("error") == []


async def test_barge_in_without_interrupt_response_cancels_itself(load_graph) -> None:
    graph, _ = load_graph(one_agent("model_settings: {audio: {input: {turn_detection: "
                                        "{type: server_vad, interrupt_response: false}}}}"))
    transport, sim = simulator("""
    - actions:
        - say: {text: "Let me tell you a rather long story about the sea.", audio_ms: 1000}
        - barge_in: {at_ms: 300}
    """, realtime_factor=1.0)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("tell me a story")
        cut = await until_ends(session)
        await session.wait_idle()

    response_id = sim.emitted_of("response.created")[0]["response"]["id"]
    item_id = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
    assert kinds(cut, QUIET) == ["agent_start", "audio", "audio", "audio", "audio_interrupted", "agent_end"]
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.truncate", "response.cancel"]
    truncate, cancel = sim.received[3:]
    assert truncate["item_id"] == item_id and truncate["content_index"] == 0
    assert 150 <= truncate["audio_end_ms"] <= _received_ms(cut, response_id) == 300
    assert cancel == {"type": "response.cancel", "response_id": response_id,
                      "event_id": "rtg_response_cancel_1"}
    assert sim.emitted_of("response.done")[0]["response"]["status_details"]["reason"] == "client_cancelled"
    assert sim.emitted_of("error") == []


async def test_interrupt_uses_the_reported_playback_position(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator("""
    - actions:
        - say: {text: "Here is a long answer that nobody will hear in full.", audio_ms: 1000}
    """, realtime_factor=1.0)
    tracker = PlaybackTracker(reported=True)  # a remote player (phone bridge) reports what it played
    async with Runner(graph, transport=transport, playback_tracker=tracker).run() as session:
        await session.send_message("answer me")
        got = []
        async for event in session:
            got.append(event)
            if event.type == "audio":
                played = sum(1 for e in got if e.type == "audio")
                tracker.on_play_bytes(event.item_id, event.content_index, len(event.audio) // 2)  # half of it
                if played == 3:
                    break
        await session.interrupt()
        rest = await until_ends(session)
        await session.wait_idle()
        item_id = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
        await session.send_raw({"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = (await events_until(session, lambda e: e.type == "raw_model_event"
                                        and e.data["type"] == "conversation.item.retrieved", raw=True))[-1]

    # The server kept exactly what was heard, and no unheard transcript.
    (part,) = retrieved.data["item"]["content"]
    assert (part["transcript"], len(base64.b64decode(part["audio"])) / BYTES_PER_MS) == ("", 150)
    response_id = sim.emitted_of("response.created")[0]["response"]["id"]
    assert kinds(got + rest, QUIET) == ["agent_start", "audio", "audio", "audio", "audio_interrupted", "agent_end"]
    # interrupt() always cancels (the server will not: nobody spoke), after truncating at the
    # reported 3 x 50 ms, not at the 300 ms received or the wall clock.
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.truncate", "response.cancel", "conversation.item.retrieve"]
    assert sim.received[3] == {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                               "audio_end_ms": 150}
    assert sim.received[4] == {"type": "response.cancel", "response_id": response_id,
                               "event_id": "rtg_response_cancel_1"}
    assert sim.emitted_of("conversation.item.truncated")[0]["audio_end_ms"] == 150
    assert sim.emitted_of("error") == []


async def test_interrupt_clamps_to_the_audio_received(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator("""
    - actions:
        - say: {text: "Short and complete.", audio_ms: 300}
        - delay_ms: 400        # the response stays open after its audio
    """)
    tracker = PlaybackTracker(reported=True)
    async with Runner(graph, transport=transport, playback_tracker=tracker).run() as session:
        await session.send_message("answer me")
        got = await events_until(session, lambda e: e.type == "audio_end", timeout=5)
        for event in got:
            if event.type == "audio":  # the player claims more than it was given
                tracker.on_play_ms(event.item_id, event.content_index, 250)
        await session.interrupt()
        rest = await until_ends(session)

    item_id = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
    assert kinds(got + rest, QUIET) == ["agent_start", "audio", "audio", "audio", "audio_end",
                                        "audio_interrupted", "agent_end"]
    assert sim.received[3] == {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                               "audio_end_ms": 300}
    assert wire_types(sim)[3:] == ["conversation.item.truncate", "response.cancel"]
    assert sim.emitted_of("error") == []
