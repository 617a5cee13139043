"""The Twilio bridge end to end: a loopback WebSocket server runs the bridge, the test plays Twilio,
the session runs against the simulator (real WebSocket) and is recorded to a cassette."""

from __future__ import annotations

import base64
import json

import anyio
import pytest
import websockets
from websockets.asyncio.server import serve

from realtime_graph.audio import PCMU, silence, synthesize_speech
from realtime_graph.config import load_string
from realtime_graph.runtime import AudioInterruptedEvent
from realtime_graph.telephony import FRAME_BYTES, routing_from_mapping
from realtime_graph.telephony.twilio_bridge import TwilioBridge, TwilioDtmf, TwilioStreamStarted
from realtime_graph.transports import Simulator, SimulatorTransport
from realtime_graph.transports.recording import RecordingTransport

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

GRAPH = """kind: graph
start: triage
variables:
  caller: {type: string, default: nobody}
telephony:
  routing:
    - when: [{parameter: line, exact: billing}]
      agent: billing
      set: {caller: {parameter: From}}
---
kind: agent
name: triage
instructions: Triage.
---
kind: agent
name: billing
instructions: Billing for {{ caller }}.
"""


class _Channel:
    def __init__(self, ws):
        self.ws = ws

    async def send_text(self, text):
        await self.ws.send(text)

    async def receive_text(self):
        try:
            message = await self.ws.recv()
        except websockets.ConnectionClosed:
            return None
        return message if isinstance(message, str) else message.decode()


def _frames(audio):
    return [audio[i:i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)]


def _media(frame, chunk):
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {
        "track": "inbound", "chunk": str(chunk), "timestamp": str(chunk * 20),
        "payload": base64.b64encode(frame).decode()}})


async def test_spoken_turn_reply_frames_barge_in_stale_marks_dtmf(tmp_path):
    graph = load_string(GRAPH, import_entrypoints=False)
    cassette = tmp_path / "call.jsonl"
    events = []
    transport = RecordingTransport(SimulatorTransport(Simulator()), cassette)
    bridge = TwilioBridge(graph, transport=transport, routing=routing_from_mapping(graph.telephony),
                          on_event=events.append)
    results = []

    async def handler(ws):
        results.append(await bridge.run(_Channel(ws)))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}/twilio/media") as twilio:
            await twilio.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await twilio.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
                "streamSid": "MZ1", "accountSid": "AC1", "callSid": "CA1", "tracks": ["inbound"],
                "customParameters": {"line": "billing", "From": "+14155550100"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
            caller = synthesize_speech("hello there", 1000, PCMU) + silence(PCMU, 1500)
            for i, frame in enumerate(_frames(caller)):
                await twilio.send(_media(frame, i))
            # the reply: media frames of exactly 160 bytes, each followed by a mark
            received = []
            with anyio.fail_after(10):
                while len([m for m in received if m["event"] == "mark"]) < 10:
                    received.append(json.loads(await twilio.recv()))
            assert [m["event"] for m in received[:4]] == ["media", "mark", "media", "mark"]
            assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES
                       for m in received if m["event"] == "media")
            marks = [m["mark"]["name"] for m in received if m["event"] == "mark"]
            assert marks[0].startswith("g0:1:")
            # 5 frames "played" (100 ms), then the caller barges in
            for name in marks[:5]:
                await twilio.send(json.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": name}}))
            await anyio.sleep(0.2)
            barge = synthesize_speech("wait", 600, PCMU)
            for i, frame in enumerate(_frames(barge)):
                await twilio.send(_media(frame, 200 + i))
            with anyio.fail_after(10):
                while True:
                    message = json.loads(await twilio.recv())
                    if message["event"] == "clear":
                        break
            assert message == {"event": "clear", "streamSid": "MZ1"}
            # Twilio echoes the dropped marks after clear: they must not count
            for name in marks[5:]:
                await twilio.send(json.dumps({"event": "mark", "streamSid": "MZ1", "mark": {"name": name}}))
            await twilio.send(json.dumps({"event": "dtmf", "streamSid": "MZ1",
                                          "dtmf": {"track": "inbound_track", "digit": "5"}}))
            await anyio.sleep(0.3)
            await twilio.send(json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": "CA1"}}))
            with anyio.fail_after(10):
                while results == []:
                    await anyio.sleep(0.01)

    (pacer,) = results
    started = next(e for e in events if isinstance(e, TwilioStreamStarted))
    assert (started.decision.agent, dict(started.decision.context)) == ("billing", {"caller": "+14155550100"})
    assert [e for e in events if isinstance(e, TwilioDtmf)] == [TwilioDtmf("5", "MZ1")]
    assert any(isinstance(e, AudioInterruptedEvent) for e in events)
    assert pacer.generation >= 1 and pacer.stale_marks >= len(marks) - 5
    lines = [json.loads(line) for line in cassette.read_text().splitlines()[1:]]
    sent = [entry["event"] for entry in lines if entry["dir"] == "client"]
    update = next(e for e in sent if e["type"] == "session.update")
    assert update["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert update["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert update["session"]["instructions"] == "Billing for +14155550100."
    truncates = [e for e in sent if e["type"] == "conversation.item.truncate"]
    assert len(truncates) == 1
    assert truncates[0]["audio_end_ms"] == 100  # 5 acknowledged frames of 20 ms
