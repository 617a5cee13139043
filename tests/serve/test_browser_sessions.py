"""Real uvicorn on loopback, real WebSocket clients speaking browser protocol v1, the simulator
behind it (the example graph of the repository, default simulator rules)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from realtime_graph.audio import PCM24K, silence, synthesize_speech
from realtime_graph.transports import Simulator, SimulatorTransport
from realtime_graph.transports.base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport
from tests.support.serving import EXAMPLE, browser, serving

pytestmark = pytest.mark.anyio


class _Recorder(Transport):
    """Keeps every client event the sessions sent (what the simulator received)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[ClientEvent] = []

    def connect(self, request: ConnectRequest) -> AbstractAsyncContextManager[Connection]:
        return self._connect(request)

    @asynccontextmanager
    async def _connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        async with self.inner.connect(request) as connection:
            yield _RecordingConnection(connection, self.sent)


class _RecordingConnection(Connection):
    def __init__(self, inner: Connection, sent: list[ClientEvent]) -> None:
        self.inner, self.sent = inner, sent

    async def send(self, event: ClientEvent) -> None:
        self.sent.append(event)
        await self.inner.send(event)

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        async for event in self.inner:
            yield event

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_text_turn_gets_session_message_then_transcript_and_audio() -> None:
    async with serving(EXAMPLE) as url, browser(url) as b:
        hello = await b.until("session")
        assert b.seen[0] is hello
        assert hello["protocol"] == 1 and hello["agent"] == "concierge" and len(hello["session_id"]) == 12
        assert hello["audio"] == {"input": {"format": "pcm16", "rate": 24000},
                                  "output": {"format": "pcm16", "rate": 24000}}
        assert hello["graph"]["start"] == "concierge"
        assert {"name": "booking", "tools": ["book_table"], "handoffs": ["concierge"], "guardrails": []} \
            in hello["graph"]["agents"]
        await b.send("text", text="hello there")
        user = await b.until("transcript", role="user")
        assert (user["text"], user["final"], user["delta"]) == ("hello there", True, None)
        deltas = []
        while (t := await b.until("transcript", role="assistant"))["final"] is False:
            deltas.append(t["delta"])
            assert t["text"] == "".join(deltas) and t["agent"] == "concierge"
        assert t["text"] == "You said: hello there" == "".join(deltas)
        end = await b.until("audio_end")
        announced = await b.until("audio")
        assert announced["item_id"] == end["item_id"] == t["item_id"]
        # 60 ms of speech per character at 24 kHz PCM16 (48 bytes per ms), 300 ms minimum
        assert len(b.audio[end["item_id"]]) == 60 * len("You said: hello there") * 48
        assert b.types() == ["session", "agent", "audio_end"]


async def test_handoff_and_tool_through_the_protocol() -> None:
    async with serving(EXAMPLE) as url, browser(url) as b:
        await b.until("session")
        await b.send("text", text="What's the weather in Paris?")
        handoff = await b.until("handoff")
        assert (handoff["from"], handoff["to"]) == ("concierge", "weather")
        start = await b.until("tool_start")
        assert start["name"] == "get_weather" and json.loads(start["arguments"]) == {"city": "Paris"}
        end = await b.until("tool_end", call_id=start["call_id"])
        assert end["output"] == "The weather in Paris is sunny, 21 °C."
        greeting = await b.until("transcript", role="assistant", final=True, agent="weather")
        assert greeting["text"] == "Hi, this is weather. You work for Acme Travel and tell callers the current weather."
        reply = await b.until("transcript", role="assistant", final=True, agent="weather")
        assert reply["text"] == "get_weather returned The weather in Paris is sunny, 21 °C."
        await b.until("audio_end", item_id=reply["item_id"])
        assert b.types() == ["session", "agent", "handoff", "agent", "audio_end", "tool_start", "tool_end", "agent",
                             "audio_end"]


async def test_approval_once_then_rejection_with_a_reason() -> None:
    async with serving(EXAMPLE) as url, browser(url) as b:
        await b.until("session")
        await b.send("text", text="booking please: book table at Luigi time=19:30")
        approval = await b.until("approval_required")
        assert approval["name"] == "book_table"
        assert json.loads(approval["arguments"])["restaurant"] == "Luigi"
        await b.send("approve", call_id=approval["call_id"], always=False)
        end = await b.until("tool_end", call_id=approval["call_id"])
        assert json.loads(end["output"]) == {"confirmed": True, "restaurant": "Luigi", "time": "19:30",
                                             "party_size": 2}
        await b.until("audio_end")
        await b.send("text", text="book table at Roma time=20:00")
        second = await b.until("approval_required")
        await b.send("reject", call_id=second["call_id"], always=False, message="the caller changed their mind")
        reply = await b.until("transcript", role="assistant", final=True, agent="booking")
        while "changed their mind" not in reply["text"]:
            reply = await b.until("transcript", role="assistant", final=True)
        assert "book_table returned" in reply["text"]
        rejected = await b.until("tool_end", call_id=second["call_id"])
        assert rejected["output"] == "the caller changed their mind"  # the tool never ran


async def test_approving_an_unknown_call_is_an_error_and_the_session_goes_on() -> None:
    async with serving(EXAMPLE) as url, browser(url) as b:
        await b.until("session")
        await b.send("approve", call_id="call_nope", always=False)
        error = await b.until("error")
        assert error["code"] == "rejected" and "call_nope" in error["message"]
        await b.send("text", text="still there?")
        assert (await b.until("transcript", role="assistant", final=True))["text"] == "You said: still there?"


async def test_guardrail_trip_reaches_the_console() -> None:
    async with serving(EXAMPLE, sim_speed=1.0) as url, browser(url) as b:
        await b.until("session")
        await b.send("text", text="my card is 4111 1111 1111 1111")
        trip = await b.until("guardrail_tripped")
        assert trip["guardrail"] == "no_card_numbers"
        assert trip["text"] == "You said: my card is 4111 1111 1111 1111"
        assert (await b.until("audio_interrupted"))["item_id"] == (await b.until("audio"))["item_id"]


async def test_audio_turn_in_binary_frames_reaches_the_session() -> None:
    recorder = _Recorder(SimulatorTransport(Simulator(realtime_factor=0.0)))
    async with serving(EXAMPLE, transport=recorder) as url, browser(url) as b:
        await b.until("session")
        speech = synthesize_speech("hello", 1200) + silence(PCM24K, 1500)
        frame = 20 * 48  # 20 ms frames, as the console's worklet sends them
        for offset in range(0, len(speech), frame):
            await b.send_raw(speech[offset:offset + frame])
        user = await b.until("transcript", role="user", final=True)
        reply = await b.until("transcript", role="assistant", final=True)
        assert reply["text"] == f"You said: {user['text']}"
        appended = b"".join(base64.b64decode(e["audio"]) for e in recorder.sent
                            if e["type"] == "input_audio_buffer.append")
        assert appended == speech


async def test_bad_messages_get_located_errors_and_the_session_goes_on() -> None:
    async with serving(EXAMPLE) as url, browser(url) as b:
        await b.until("session")
        bad: list[str | bytes] = ["not json", '["text"]', '{"type": "shout"}', '{"type": "text"}',
                                  '{"type": "approve", "call_id": 5}', b"\x00\x01\x02"]
        for frame in bad:
            await b.send_raw(frame)
        errors = [await b.until("error") for _ in bad]
        assert [e["code"] for e in errors] == ["bad_message"] * len(bad)
        assert [e["message"] for e in errors] == [
            'not JSON (Expecting value at character 0); send one JSON object with a "type" of: '
            "text, approve, reject, played, interrupt (audio goes in binary frames)",
            'expected a JSON object with a "type" of: text, approve, reject, played, interrupt',
            'unknown message type "shout"; accepted: text, approve, reject, played, interrupt '
            "(audio goes in binary frames)",
            """text: missing 'text' (a string); expected {"type": "text", "text": "..."}""",
            """approve: 'call_id' must be a string, got 5; expected """
            """{"type": "approve", "call_id": "...", "always": false}""",
            "binary frame of 3 bytes is not whole PCM16 samples (2 bytes each)",
        ]
        await b.send("text", text="after the noise")
        assert (await b.until("transcript", role="assistant", final=True))["text"] == "You said: after the noise"


async def test_many_concurrent_clients_each_get_their_own_conversation() -> None:
    count = 25
    replies: dict[int, str] = {}
    async with serving(EXAMPLE, max_sessions=count) as url:
        async def one(n: int) -> None:
            async with browser(url) as b:
                await b.until("session")
                await b.send("text", text=f"client number {n}")
                replies[n] = (await b.until("transcript", role="assistant", final=True))["text"]
                await b.until("audio_end")

        async with anyio.create_task_group() as tg:
            for n in range(count):
                tg.start_soon(one, n)
        with anyio.fail_after(10):
            while len(url.server.registry):  # the server notices each close a moment later
                await anyio.sleep(0.01)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(url.path("/metrics"))).text
    assert replies == {n: f"You said: client number {n}" for n in range(count)}
    assert f'rtgraph_sessions_started_total{{channel="browser"}} {count}.0' in metrics
    assert f'rtgraph_sessions_ended_total{{channel="browser",outcome="client_closed"}} {count}.0' in metrics
    assert 'rtgraph_sessions_active{channel="browser"} 0.0' in metrics


async def test_barge_in_truncates_at_what_the_browser_reported_as_played() -> None:
    recorder = _Recorder(SimulatorTransport(Simulator(realtime_factor=1.0)))
    async with serving(EXAMPLE, transport=recorder) as url, browser(url) as b:
        await b.until("session")
        await b.send("text", text="please tell me a long story about the sea and the ships on it")
        announced = await b.until("audio")
        await b.send("played", item_id=announced["item_id"], content_index=0, bytes=4800)  # 100 ms
        await b.send("played", item_id=announced["item_id"], content_index=0, bytes=2400)  # +50 ms
        await anyio.sleep(0.3)  # more audio arrives than was played
        await b.send("interrupt")
        flushed = await b.until("audio_interrupted")
        assert flushed["item_id"] == announced["item_id"]
        with anyio.fail_after(5):
            while not [e for e in recorder.sent if e["type"] == "conversation.item.truncate"]:
                await anyio.sleep(0.01)
        truncate = next(e for e in recorder.sent if e["type"] == "conversation.item.truncate")
        assert (truncate["item_id"], truncate["audio_end_ms"]) == (announced["item_id"], 150)


async def test_unknown_agent_and_missing_subprotocol_are_refused_with_a_reason() -> None:
    from websockets.asyncio.client import connect

    async with serving(EXAMPLE) as url:
        async with browser(url, agent="nobody") as b:
            error = await b.until("error")
            assert error == {"type": "error", "code": "unknown_agent",
                             "message": "no agent named 'nobody'; agents: booking, concierge, weather"}
            await b.ws.wait_closed()
            assert b.ws.close_code == 1008
        async with browser(url, agent="weather") as b:
            assert (await b.until("session"))["agent"] == "weather"
        async with connect(url.ws) as ws:
            first: Any = json.loads(await ws.recv())
            assert first["code"] == "bad_message" and "rtgraph.v1" in first["message"]
            await ws.wait_closed()
            assert (ws.close_code, ws.close_reason) == (1008, "subprotocol rtgraph.v1 required")


def _sample(metrics: str, name: str) -> float:
    """The value of one exact sample line (``name{labels}``)."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name!r} in:\n{metrics}")


async def test_metrics_count_what_happened_in_the_sessions() -> None:
    async with serving(EXAMPLE, sim_speed=1.0) as url:
        async with browser(url) as b:
            await b.until("session")
            await b.send("text", text="What's the weather in Paris?")
            await b.until("tool_end")
            await b.until("audio_end")
        async with browser(url) as b:
            await b.until("session")
            await b.send("text", text="my card is 4111 1111 1111 1111")
            await b.until("guardrail_tripped")
        with anyio.fail_after(10):
            while len(url.server.registry):
                await anyio.sleep(0.01)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(url.path("/metrics"))).text
    assert _sample(metrics, 'rtgraph_tool_latency_seconds_count{tool="get_weather"}') == 1
    assert _sample(metrics, 'rtgraph_time_to_first_audio_seconds_count{channel="browser"}') == 2
    # sampled: the first server event of each session, then one in LAG_SAMPLE_EVERY (8)
    assert _sample(metrics, 'rtgraph_event_lag_seconds_count{channel="browser"}') > 4
    assert _sample(metrics, 'rtgraph_event_lag_seconds_bucket{channel="browser",le="1.0"}') == \
        _sample(metrics, 'rtgraph_event_lag_seconds_count{channel="browser"}')
    assert _sample(metrics, 'rtgraph_guardrail_trips_total{guardrail="no_card_numbers"}') == 1
    assert _sample(metrics, 'rtgraph_barge_ins_total{channel="browser"}') == 1
    assert _sample(metrics, 'rtgraph_session_duration_seconds_count{channel="browser"}') == 2
    assert _sample(metrics, 'rtgraph_sessions_ended_total{channel="browser",outcome="client_closed"}') == 2


def test_rtgraph_run_does_not_load_the_server_stack() -> None:
    import subprocess
    import sys

    code = ("import sys, realtime_graph.cli.run; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'prometheus_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
