"""Audio turns end to end: user PCM speech in (server VAD and push-to-talk), assistant audio out."""

from __future__ import annotations

import base64

import pytest

from realtime_graph.audio import PCM24K, silence, synthesize_speech
from realtime_graph.runtime import Runner
from tests.support.simulated import events_until, kinds, one_agent, simulator, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


SCRIPT = """
- transcript: "hello from audio"
  actions:
    - say: {text: "Hi there, audio friend.", audio_ms: 300}
"""

SPEECH = synthesize_speech("hello from audio", 800, PCM24K)
CHUNK = 4800  # 100 ms of 24 kHz PCM16


def _appended(sim) -> bytes:
    return b"".join(base64.b64decode(e["audio"]) for e in sim.received_of("input_audio_buffer.append"))


def _input_events(got) -> list[str]:
    return [e.data["type"] for e in got if e.type == "raw_model_event"
            and e.data["type"].startswith(("input_audio_buffer.", "conversation.item.input_audio"))]


async def test_server_vad_turn_speech_in_audio_out(load_graph) -> None:
    graph, _ = load_graph(one_agent())
    transport, sim = simulator(SCRIPT)
    user_audio = SPEECH + silence(PCM24K, 700)  # 700 ms of quiet > the 500 ms semantic-VAD silence
    async with Runner(graph, transport=transport).run() as session:
        for start in range(0, len(user_audio), CHUNK):
            await session.send_audio(user_audio[start:start + CHUNK])
        got = await events_until(session, lambda e: e.type == "agent_end", raw=True, timeout=5)

    assert _input_events(got) == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                                  "input_audio_buffer.committed",
                                  "conversation.item.input_audio_transcription.delta",
                                  "conversation.item.input_audio_transcription.completed"]
    started = next(e.data for e in got if e.type == "raw_model_event"
                   and e.data["type"] == "input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 0
    assert kinds(got, drop=frozenset({"raw_model_event", "history_added", "history_updated"})) == [
        "agent_start", "audio", "audio", "audio", "audio_end", "agent_end"]
    heard = b"".join(e.audio for e in got if e.type == "audio")
    assert heard == synthesize_speech("Hi there, audio friend.", 300, PCM24K)
    # Server VAD commits and answers by itself: the client only appends.
    assert wire_types(sim, audio=True) == ["session.update"] + ["input_audio_buffer.append"] * 15
    assert _appended(sim) == user_audio
    assert [(i.role, i.content) for i in session.history] == [
        ("user", [{"type": "input_audio", "transcript": "hello from audio"}]),
        ("assistant", [{"type": "audio", "transcript": "Hi there, audio friend."}])]


async def test_manual_turn_commit_then_response_create(load_graph) -> None:
    graph, _ = load_graph(one_agent("model_settings: {audio: {input: {turn_detection: null}}}"))
    transport, sim = simulator(SCRIPT)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_audio(SPEECH[:len(SPEECH) // 2])
        await session.send_audio(SPEECH[len(SPEECH) // 2:], commit=True)
        committed = await events_until(session, lambda e: e.type == "history_updated"
                                       and e.history and e.history[-1].content[0]["transcript"], timeout=5)
        await session.send_raw({"type": "response.create"})
        got = await events_until(session, lambda e: e.type == "agent_end", timeout=5)

    assert sim.received[0]["session"]["audio"]["input"]["turn_detection"] is None
    assert wire_types(sim, audio=True) == ["session.update", "input_audio_buffer.append",
                                           "input_audio_buffer.append", "input_audio_buffer.commit",
                                           "response.create"]
    assert sim.received[-1] == {"type": "response.create", "event_id": "rtg_response_create_1"}
    assert _appended(sim) == SPEECH
    # No VAD: no speech_started/stopped, the commit alone makes the user item; no response until asked.
    assert "agent_start" not in kinds(committed)
    assert [e.type for e in sim.emitted_of("input_audio_buffer.speech_started")] == []
    assert kinds(got, drop=frozenset({"raw_model_event", "history_added", "history_updated"})) == [
        "agent_start", "audio", "audio", "audio", "audio_end", "agent_end"]
    assert session.history[0].content == [{"type": "input_audio", "transcript": "hello from audio"}]
