"""Twilio calls through a real ``rtgraph serve`` (uvicorn on loopback), the fake Twilio caller and the
simulator: signed voice webhook → TwiML → media stream → session, barge-in, stale marks, DTMF,
signatures, capacity and the stream token."""

from __future__ import annotations

import base64
import json
import re

import anyio
import httpx2
import pytest
import websockets

from realtime_graph.audio import PCMU, silence, synthesize_speech
from realtime_graph.config import load_string
from realtime_graph.serve.twilio_channel import BUSY_TWIML
from realtime_graph.telephony import FRAME_BYTES, twilio_signature
from realtime_graph.telephony.fakes import FakeTwilioPeer
from realtime_graph.telephony.fakes.twilio_peer import dial_voice, parse_stream_twiml
from tests.support.serving import serving
from tests.support.simulated import simulator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "twilio-test-token"

GRAPH = """kind: graph
start: triage
variables:
  caller: {type: string, default: nobody}
telephony:
  routing:
    - when: [{parameter: To, exact: "+15550009999"}]
      agent: billing
      set: {caller: {parameter: From}}
---
kind: agent
name: triage
instructions: Triage.
dtmf:
  "1": {handoff: billing}
---
kind: agent
name: billing
instructions: Billing for {{ caller }}.
"""

LONG_REPLY = """
- actions:
    - say: {text: "Thanks for calling, let me read you our long menu of options.", audio_ms: 2000}
- actions:
    - say: {text: "Sure.", audio_ms: 200}
"""


@pytest.fixture(autouse=True)
def _auth_token(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)


def _graph():
    return load_string(GRAPH, import_entrypoints=False)


def _speech(text: str, ms: int) -> bytes:
    return synthesize_speech(text, ms, PCMU) + silence(PCMU, 800)


async def _get(url: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as client:
        return await client.get(url)


async def _until(predicate, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


async def test_spoken_turn_reply_in_frames_barge_in_truncates_at_acknowledged_mark() -> None:
    transport, sim = simulator(LONG_REPLY)
    async with serving(_graph(), transport=transport) as url:
        voice = url.path("/twilio/voice")
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA1", echo_marks=False) as peer:
            await peer.send_audio(_speech("hello", 600), realtime=False)
            await peer.wait_for("mark", 20)
            # The reply: every media frame exactly 160 bytes of µ-law, each followed by its mark.
            reply = [m for m in peer.received if m["event"] in ("media", "mark")][:40]
            assert [m["event"] for m in reply] == ["media", "mark"] * 20
            assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES
                       for m in reply if m["event"] == "media")
            marks = [m["mark"]["name"] for m in reply if m["event"] == "mark"]
            assert all(re.fullmatch(rf"g0:{i + 1}:item_\w+:0", name) for i, name in enumerate(marks))
            # Twilio played 7 frames (140 ms), then the caller talks over the reply.
            for name in marks[:7]:
                await peer.send_mark(name)
            await anyio.sleep(0.1)
            await peer.send_audio(_speech("wait", 400), realtime=False)
            (clear,) = await peer.wait_for("clear")
            assert clear == {"event": "clear", "streamSid": peer.stream_sid}
            # Twilio echoes the marks of the audio `clear` dropped: stale, they must not count.
            sent_before_clear = [m["mark"]["name"] for m in peer.received[:peer.received.index(clear)]
                                 if m["event"] == "mark"]
            for name in sent_before_clear[7:]:
                await peer.send_mark(name)
            await _until(lambda: len(sim.emitted_of("response.done")) == 2)
            await peer.stop()
        await _until(lambda: "session ended" in url.log.getvalue())

    truncates = sim.received_of("conversation.item.truncate")
    assert len(truncates) == 1
    assert truncates[0]["audio_end_ms"] == 140  # exactly the 7 acknowledged 20 ms frames
    first_item = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
    assert truncates[0]["item_id"] == first_item
    update = sim.received_of("session.update")[0]["session"]
    assert update["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert update["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert update["instructions"] == "Triage."
    # µ-law passes through: the caller's bytes reach the model unchanged, in 60 ms appends.
    appends = sim.received_of("input_audio_buffer.append")
    assert {len(base64.b64decode(a["audio"])) for a in appends[:-1]} == {480}
    assert b"".join(base64.b64decode(a["audio"]) for a in appends).startswith(_speech("hello", 600)[:4000])
    ended = next(line for line in url.log.getvalue().splitlines() if "session ended" in line)
    assert "channel=twilio" in ended and "outcome=ended" in ended
    assert f"stale_marks={len(sent_before_clear) - 7}" in ended


async def test_routing_by_parameter_and_dtmf_handoff() -> None:
    transport, sim = simulator()
    async with serving(_graph(), transport=transport) as url:
        voice = url.path("/twilio/voice")
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA2") as peer:
            await _until(lambda: len(sim.received_of("session.update")) == 1)
            await peer.send_dtmf("1")
            await _until(lambda: len(sim.received_of("session.update")) == 2)
            await _until(lambda: len(sim.emitted_of("response.done")) == 1)
            await peer.stop()
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA3",
                                       form={"To": "+15550009999", "From": "+14155550100"}) as peer:
            await _until(lambda: len(sim.received_of("session.update")) == 3)
            await peer.stop()
        await _until(lambda: url.log.getvalue().count("session ended") == 2)
    updates = [u["session"]["instructions"] for u in sim.received_of("session.update")]
    assert updates == ["Triage.", "Billing for nobody.", "Billing for +14155550100."]
    assert sim.received_of("response.create")[0]["type"] == "response.create"
    ended = [line for line in url.log.getvalue().splitlines() if "session ended" in line]
    assert "agent=billing call=CA2" in ended[0]
    started = [line for line in url.log.getvalue().splitlines() if "session started" in line]
    assert "agent=triage call=CA2 graph=" in started[0]  # no rule matched: the start agent
    assert "agent=billing call=CA3 rule=0" in started[1]


async def test_bad_signature_is_403_and_nothing_starts() -> None:
    async with serving(_graph()) as url:
        voice = url.path("/twilio/voice")
        form = {"CallSid": "CA9", "From": "+1555"}
        async with httpx2.AsyncClient() as client:
            wrong = await client.post(voice, data=form,
                                      headers={"X-Twilio-Signature": twilio_signature(voice, form, "other-token")})
            missing = await client.post(voice, data=form)
        # Signed for the public URL: without the proxy's forwarded headers the URL differs (403) ...
        async with httpx2.AsyncClient() as client:
            signature = twilio_signature("https://voice.example.com/twilio/voice", form, TOKEN)
            unproxied = await client.post(voice, data=form, headers={"X-Twilio-Signature": signature})
            proxied = await client.post(voice, data=form, headers={
                "X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.com"})
        metrics = (await _get(url.path("/metrics"))).text
    assert wrong.status_code == 403
    assert wrong.text == ("forbidden: X-Twilio-Signature does not match: wrong auth token, or the URL differs from "
                          "the one configured in Twilio (check the public scheme and host behind a proxy)")
    assert missing.status_code == 403
    assert missing.text == "forbidden: missing X-Twilio-Signature header; the request did not come from Twilio"
    assert unproxied.status_code == 403
    assert proxied.status_code == 200  # ... with them it is the URL Twilio signed
    stream = parse_stream_twiml(proxied.text)
    assert stream is not None and stream[0] == "wss://voice.example.com/twilio/media"
    assert set(stream[1]) == {"From", "CallSid", "rtgraph_token"}
    assert 'rtgraph_sessions_refused_total{channel="twilio",reason="signature"} 3.0' in metrics
    assert TOKEN not in url.log.getvalue()


async def test_no_auth_token_configured_is_403(monkeypatch) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    async with serving(_graph()) as url:
        answer = await dial_voice(url.path("/twilio/voice"), auth_token=TOKEN, form={"CallSid": "CA1"})
    assert (answer.status_code, answer.text) == (
        403, "forbidden: no Twilio auth token configured: set TWILIO_AUTH_TOKEN")


async def test_capacity_answers_busy_and_a_stream_without_token_is_refused() -> None:
    async with serving(_graph(), max_sessions=1) as url:
        voice = url.path("/twilio/voice")
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA1"):
            await _until(lambda: "session started" in url.log.getvalue())
            busy = await dial_voice(voice, auth_token=TOKEN, form={"CallSid": "CA2"})
            ready = await _get(url.path("/readyz"))
        assert (busy.status_code, busy.text) == (200, BUSY_TWIML)
        assert ready.status_code == 503
        # A stranger opens the media socket directly: no token, no session.
        media = "ws" + url.path("/twilio/media")[len("http"):]
        async with FakeTwilioPeer.connect(media, custom_parameters={"From": "+1"}) as stranger:
            await _until(lambda: stranger.ws.close_code is not None)
        assert (stranger.ws.close_code, stranger.ws.close_reason) == (1008, "forbidden")
        # A real TwiML answer's token opens one stream only (a replay is refused).
        answer = await dial_voice(voice, auth_token=TOKEN, form={"CallSid": "CA3"})
        stream = parse_stream_twiml(answer.text)
        assert stream is not None
        for expected in ((1000, "stream stopped"), (1008, "forbidden")):
            async with websockets.connect(stream[0]) as ws:
                await ws.send(json.dumps({"event": "start", "streamSid": "MZ3", "start": {
                    "streamSid": "MZ3", "callSid": "CA3", "customParameters": stream[1]}}))
                await ws.send(json.dumps({"event": "stop", "streamSid": "MZ3", "stop": {}}))
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await ws.recv()
                assert (ws.close_code, ws.close_reason or None) == expected
        log = url.log.getvalue()
    assert "reason=full" in log and "reason=auth" in log
    assert "media stream without the rtgraph_token parameter" in log
    assert "media stream token was already used (a replayed stream)" in log


async def test_reload_reaches_live_calls_in_mulaw_and_shutdown_closes_them_1001() -> None:
    transport, sim = simulator()
    async with serving(_graph(), transport=transport) as url:
        async with FakeTwilioPeer.dial(url.path("/twilio/voice"), auth_token=TOKEN, call_sid="CA7") as peer:
            await _until(lambda: len(sim.received_of("session.update")) == 1)
            url.server.registry.publish_graph(load_string(GRAPH.replace("Triage.", "Triage v2."),
                                                          import_entrypoints=False))
            await _until(lambda: len(sim.received_of("session.update")) == 2)
            url.server.shutdown()
            await _until(lambda: peer.ws.close_code is not None)
            assert (peer.ws.close_code, peer.ws.close_reason) == (1001, "shutdown")
        await _until(lambda: "session ended" in url.log.getvalue())
    update = sim.received_of("session.update")[1]["session"]
    assert update["instructions"] == "Triage v2."
    assert update["audio"]["input"]["format"] == update["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert "outcome=shutdown" in url.log.getvalue()


async def test_telephony_max_calls_caps_phone_calls_below_max_sessions() -> None:
    graph = load_string(GRAPH.replace("telephony:\n", "telephony:\n  max_calls: 1\n"), import_entrypoints=False)
    async with serving(graph, max_sessions=10) as url:
        voice = url.path("/twilio/voice")
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA1"):
            await _until(lambda: "session started" in url.log.getvalue())
            busy = await dial_voice(voice, auth_token=TOKEN, form={"CallSid": "CA2"})
            ready = await _get(url.path("/readyz"))
        metrics = (await _get(url.path("/metrics"))).text
    assert (busy.status_code, busy.text) == (200, BUSY_TWIML)
    assert ready.status_code == 200  # the server still takes browser sessions
    assert 'rtgraph_sessions_refused_total{channel="twilio",reason="max_calls"} 1.0' in metrics


async def test_get_webhooks_sign_the_query_and_large_forms_are_413() -> None:
    async with serving(_graph()) as url:
        voice = url.path("/twilio/voice") + "?CallSid=CA5&From=%2B1555&To=%2B1666"
        async with httpx2.AsyncClient() as client:
            good = await client.get(voice, headers={"X-Twilio-Signature": twilio_signature(voice, {}, TOKEN)})
            bad = await client.get(voice, headers={"X-Twilio-Signature": twilio_signature(voice[:-1], {}, TOKEN)})
            big = await client.post(url.path("/twilio/voice"), content=b"a=" + b"x" * 70000,
                                    headers={"content-type": "application/x-www-form-urlencoded"})
    stream = parse_stream_twiml(good.text)
    assert stream is not None
    assert {k: v for k, v in stream[1].items() if k != "rtgraph_token"} == {"From": "+1555", "To": "+1666",
                                                                            "CallSid": "CA5"}
    assert bad.status_code == 403
    assert (big.status_code, big.text) == (413, "form too large")


async def test_draining_server_answers_busy() -> None:
    async with serving(_graph()) as url:
        voice = url.path("/twilio/voice")
        async with FakeTwilioPeer.dial(voice, auth_token=TOKEN, call_sid="CA1"):  # drain waits for this call
            await _until(lambda: "session started" in url.log.getvalue())
            url.server.drain()
            busy = await dial_voice(voice, auth_token=TOKEN, form={"CallSid": "CA2"})
            metrics = (await _get(url.path("/metrics"))).text
    assert (busy.status_code, busy.text) == (200, BUSY_TWIML)
    assert 'rtgraph_sessions_refused_total{channel="twilio",reason="draining"} 1.0' in metrics


async def test_a_lost_realtime_connection_ends_the_call_with_1011() -> None:
    transport, _ = simulator("""
    - actions:
        - say: {text: "One moment.", audio_ms: 100}
        - disconnect: {code: 4000, reason: "gone"}
    """)  # not a recoverable code: no reconnect (run.reconnect), the call ends
    async with serving(_graph(), transport=transport) as url:
        async with FakeTwilioPeer.dial(url.path("/twilio/voice"), auth_token=TOKEN, call_sid="CA8") as peer:
            await peer.send_audio(_speech("hello", 600), realtime=False)
            await _until(lambda: peer.ws.close_code is not None)
        await _until(lambda: "session ended" in url.log.getvalue())
        metrics = (await _get(url.path("/metrics"))).text
    assert (peer.ws.close_code, peer.ws.close_reason) == (1011, "connection lost")
    assert "outcome=transport_error" in url.log.getvalue()
    assert 'rtgraph_transport_errors_total{code="connection_lost"} 1.0' in metrics


async def test_a_stream_in_another_media_format_is_refused() -> None:
    async with serving(_graph()) as url:
        answer = await dial_voice(url.path("/twilio/voice"), auth_token=TOKEN, form={"CallSid": "CA4"})
        stream = parse_stream_twiml(answer.text)
        assert stream is not None
        async with websockets.connect(stream[0]) as ws:
            await ws.send(json.dumps({"event": "start", "streamSid": "MZ4", "start": {
                "streamSid": "MZ4", "callSid": "CA4", "customParameters": stream[1],
                "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}}}))
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
        assert (ws.close_code, ws.close_reason) == (1008, "bad message")
    assert ("media format audio/l16 at 16000 Hz is not supported: the session speaks audio/x-mulaw at 8000 Hz"
            in url.log.getvalue())


async def test_the_hangup_tool_closes_the_stream_after_the_goodbye_played() -> None:
    graph = load_string(GRAPH.replace("instructions: Triage.\n", "instructions: Triage.\ncall_control:\n"
                                      "  hangup: true\n  transfer: [{name: to_human, target: 'tel:+14155550123'}]\n"),
                        import_entrypoints=False)
    transport, sim = simulator("""
    - actions:
        - call: {tool: to_human}
    - actions:
        - say: {text: "Goodbye.", audio_ms: 300}
        - call: {tool: hangup}
    """)
    async with serving(graph, transport=transport) as url:
        async with FakeTwilioPeer.dial(url.path("/twilio/voice"), auth_token=TOKEN, call_sid="CA6") as peer:
            await peer.send_audio(_speech("bye", 600), realtime=False)
            await _until(lambda: peer.ws.close_code is not None)
            assert (peer.ws.close_code, peer.ws.close_reason) == (1000, "call ended")
            # every frame of the goodbye was played (echoed) before the stream closed
            assert len(peer.echoed) == len(peer.of_type("mark")) == 15
        await _until(lambda: "session ended" in url.log.getvalue())
    outputs = [e["item"]["output"] for e in sim.received_of("conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert outputs == ["to_human failed: the phone system did not accept the request.", "The call was ended."]
    assert "outcome=hung_up" in url.log.getvalue()
