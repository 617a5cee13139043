"""The fake Twilio peer against a loopback WebSocket server that plays the app's side."""

from __future__ import annotations

import base64
import json
import time
import wave

import anyio
import pytest
from websockets.asyncio.server import serve

from realtime_graph.audio import PCMU, synthesize_speech, ulaw_decode
from realtime_graph.telephony import OutboundPacer, verify_twilio_signature
from realtime_graph.telephony.fakes import FakeCallsApi, FakeTwilioPeer, dial_voice, wav_to_mulaw

pytestmark = pytest.mark.anyio


async def test_peer_streams_echoes_marks_at_play_time_and_on_clear(tmp_path):
    got = []
    echo_times = {}
    sent_at = {}

    async def app(ws):
        pacer = OutboundPacer("MZ1")
        async for raw in ws:
            message = json.loads(raw)
            got.append(message)
            if message["event"] == "start":
                t0 = time.monotonic()
                for out in pacer.push(b"\x01" * 160 * 10, "item_A"):
                    await ws.send(out)
                    sent_at.setdefault("t0", t0)
            elif message["event"] == "mark":
                echo_times[message["mark"]["name"]] = time.monotonic()
                if len(echo_times) == 3:
                    await ws.send(pacer.interrupt())

    async with serve(app, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with FakeTwilioPeer.connect(f"ws://127.0.0.1:{port}/twilio/media", stream_sid="MZ1",
                                          custom_parameters={"From": "+1415"}) as peer:
            await peer.send_audio(synthesize_speech("hi", 100, PCMU), realtime=False)
            await peer.send_dtmf("7")
            await peer.wait_for("clear")
            with anyio.fail_after(5):
                while len(echo_times) < 10:
                    await anyio.sleep(0.01)
            await peer.stop()
    assert [m["event"] for m in got[:2]] == ["connected", "start"]
    assert got[1]["start"]["customParameters"] == {"From": "+1415"}
    media = [m for m in got if m["event"] == "media"]
    assert len(media) == 5 and all(len(base64.b64decode(m["media"]["payload"])) == 160 for m in media)
    assert {"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "7"}} in got
    names = [f"g0:{i}:item_A:0" for i in range(1, 11)]
    assert peer.echoed == names  # in order: 3 played, then 7 dropped by the clear
    # a mark is not echoed before the audio in front of it could have played (a lower bound only)
    assert echo_times[names[2]] - sent_at["t0"] >= 0.060
    assert len(peer.of_type("media")) == 10 and len(peer.audio) == 1600


def test_wav_to_mulaw(tmp_path):
    path = tmp_path / "caller.wav"
    pcm = ulaw_decode(synthesize_speech("hello", 200, PCMU))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)
    assert len(wav_to_mulaw(path)) == 1600
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)
    with pytest.raises(ValueError, match="need a mono 16-bit PCM WAV"):
        wav_to_mulaw(path)


async def test_dial_voice_signs_like_twilio():
    seen = []
    receiver = FakeCallsApi()  # its HTTP shell as a stand-in /twilio/voice endpoint

    def handle(method, path, headers, raw):
        from urllib.parse import parse_qsl
        seen.append((path, headers.get("x-twilio-signature"), parse_qsl(raw.decode())))
        return 200, None

    receiver.handle = handle  # type: ignore[method-assign]
    async with receiver.serve() as base:
        url = base.removesuffix("/v1") + "/twilio/voice"
        response = await dial_voice(url, auth_token="tok", form={"From": "+1415", "To": "+1800", "CallSid": "CA1"})
    assert response.status_code == 200
    ((path, signature, form),) = seen
    assert path == "/twilio/voice"
    verify_twilio_signature(url, form, signature, "tok")
