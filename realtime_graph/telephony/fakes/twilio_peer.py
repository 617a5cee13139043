"""A fake Twilio: dials ``/twilio/voice`` with a valid signature and plays the caller on a media stream.

It speaks the Media Streams protocol over a real WebSocket client: ``connected`` and ``start``
(with ``customParameters``), the caller's audio as 20 ms µ-law ``media`` frames (optionally at real
time), ``dtmf`` and ``stop``. It records every message it receives and, like Twilio, echoes each
``mark`` once the audio queued before it has "played" at real-time pace, and at once for the
audio a ``clear`` dropped.
"""

from __future__ import annotations

import base64
import json
import os
import time
import wave
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import websockets
from websockets.asyncio.client import ClientConnection

from ...audio import resample_pcm16, ulaw_encode
from ..pacer import FRAME_BYTES
from ..twilio_signature import twilio_signature

__all__ = ("FakeTwilioPeer", "dial_voice", "parse_stream_twiml", "wav_to_mulaw")

_FRAME_S = 0.020


def wav_to_mulaw(path: str | os.PathLike[str]) -> bytes:
    """A mono 16-bit PCM WAV (any rate) as µ-law 8 kHz."""
    with wave.open(os.fspath(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: need a mono 16-bit PCM WAV")
        pcm = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    return ulaw_encode(resample_pcm16(pcm, rate, 8000) if rate != 8000 else pcm)


async def dial_voice(url: str, *, auth_token: str, form: Mapping[str, str]) -> httpx2.Response:
    """POST Twilio's voice webhook form to ``url`` with a valid ``X-Twilio-Signature``."""
    headers = {"X-Twilio-Signature": twilio_signature(url, form, auth_token)}
    async with httpx2.AsyncClient() as client:
        return await client.post(url, data=dict(form), headers=headers)


def parse_stream_twiml(twiml: str) -> tuple[str, dict[str, str]] | None:
    """``(stream url, parameters)`` of a ``<Connect><Stream>`` answer, as Twilio reads it; None
    when the TwiML does not connect a stream (e.g. ``<Reject reason="busy"/>``)."""
    root = ET.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    if stream is None:
        return None
    params = {p.attrib["name"]: p.attrib["value"] for p in stream.findall("./Parameter")}
    return stream.attrib["url"], params


class FakeTwilioPeer:
    """One media stream; use :meth:`connect`. ``received`` holds every parsed message received."""

    def __init__(self, ws: ClientConnection, *, stream_sid: str, echo_marks: bool = True) -> None:
        self.ws = ws
        self.stream_sid = stream_sid
        self.echo_marks = echo_marks
        self.received: list[dict[str, Any]] = []
        self.echoed: list[str] = []
        self._queue: list[tuple[float, str | None]] = []  # (play-out time, mark name or None for audio)
        self._play_end = 0.0
        self._changed = anyio.Event()
        self.chunks_sent = 0

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str, *, custom_parameters: Mapping[str, str] | None = None,
                      stream_sid: str = "MZ00000000000000000000000000000000", call_sid: str = "CA0000",
                      echo_marks: bool = True) -> AsyncIterator[FakeTwilioPeer]:
        """Open the stream, send ``connected`` and ``start``; the block's end closes the socket."""
        async with websockets.connect(url) as ws:
            peer = cls(ws, stream_sid=stream_sid, echo_marks=echo_marks)
            await peer._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await peer._send({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": {
                "streamSid": stream_sid, "accountSid": "AC0000", "callSid": call_sid, "tracks": ["inbound"],
                "customParameters": dict(custom_parameters or {}),
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})
            async with anyio.create_task_group() as tg:
                tg.start_soon(peer._receive)
                tg.start_soon(peer._player)
                try:
                    yield peer
                finally:
                    tg.cancel_scope.cancel()

    @classmethod
    @asynccontextmanager
    async def dial(cls, voice_url: str, *, auth_token: str, call_sid: str = "CA0000",
                   form: Mapping[str, str] | None = None, stream_sid: str = "MZ00000000000000000000000000000000",
                   echo_marks: bool = True) -> AsyncIterator[FakeTwilioPeer]:
        """A whole incoming call: the signed voice webhook, then the stream its TwiML names, with its
        ``<Parameter>`` s as ``customParameters`` (what Twilio does).

        :raises RuntimeError: the webhook was not answered with a ``<Connect><Stream>`` (the status
            and body are in the message).
        :raises ConnectionError: the server cannot be reached.
        """
        fields = {"CallSid": call_sid, "AccountSid": "AC0000", "From": "+15550001111", "To": "+15550002222",
                  "Direction": "inbound", "CallStatus": "ringing", **dict(form or {})}
        try:
            answer = await dial_voice(voice_url, auth_token=auth_token, form=fields)
        except httpx2.HTTPError as exc:
            raise ConnectionError(f"cannot reach {voice_url}: {exc}") from None
        stream = parse_stream_twiml(answer.text) if answer.status_code == 200 else None
        if stream is None:
            raise RuntimeError(f"/twilio/voice answered {answer.status_code}: {answer.text[:300]}")
        url, params = stream
        async with cls.connect(url, custom_parameters=params, stream_sid=stream_sid, call_sid=fields["CallSid"],
                               echo_marks=echo_marks) as peer:
            yield peer

    async def _send(self, message: Mapping[str, Any]) -> None:
        await self.ws.send(json.dumps(message, separators=(",", ":")))

    async def send_audio(self, mulaw: bytes, *, realtime: bool = True) -> None:
        """The caller speaks: 160-byte frames (the last one padded), 20 ms apart when ``realtime``."""
        for start in range(0, len(mulaw), FRAME_BYTES):
            frame = mulaw[start:start + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
            self.chunks_sent += 1
            await self._send({"event": "media", "streamSid": self.stream_sid, "media": {
                "track": "inbound", "chunk": str(self.chunks_sent), "timestamp": str((self.chunks_sent - 1) * 20),
                "payload": base64.b64encode(frame).decode()}})
            if realtime:
                await anyio.sleep(_FRAME_S)

    async def send_wav(self, path: str | os.PathLike[str], *, realtime: bool = True) -> None:
        """Stream a WAV file as the caller."""
        await self.send_audio(wav_to_mulaw(path), realtime=realtime)

    async def send_dtmf(self, digit: str) -> None:
        """The caller presses a key."""
        await self._send({"event": "dtmf", "streamSid": self.stream_sid,
                          "dtmf": {"track": "inbound_track", "digit": digit}})

    async def line_silence(self) -> None:
        """20 ms of µ-law silence, as a phone line sends between words (nothing once closed)."""
        try:
            await self.send_audio(b"\xff" * FRAME_BYTES)
        except websockets.ConnectionClosed:
            pass

    async def send_mark(self, name: str) -> None:
        """Echo a mark by hand (with ``echo_marks=False`` the test decides what "played")."""
        await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def stop(self) -> None:
        """The call ends: ``stop``, then the socket closes."""
        await self._send({"event": "stop", "streamSid": self.stream_sid, "stop": {"accountSid": "AC0000"}})
        await self.ws.close()

    def of_type(self, event: str) -> list[dict[str, Any]]:
        """Received messages of one ``event`` type."""
        return [m for m in self.received if m.get("event") == event]

    @property
    def audio(self) -> bytes:
        """Every outbound audio byte received (including audio later cleared)."""
        return b"".join(base64.b64decode(m["media"]["payload"]) for m in self.of_type("media"))

    async def wait_for(self, event: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` messages of ``event`` were received."""
        with anyio.fail_after(timeout):
            while len(self.of_type(event)) < count:
                self._changed = anyio.Event()
                await self._changed.wait()
        return self.of_type(event)

    async def _receive(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.received.append(message)
                now = time.monotonic()
                event = message.get("event")
                if event == "media":
                    nbytes = len(base64.b64decode(message["media"]["payload"]))
                    self._play_end = max(self._play_end, now) + nbytes / 8000
                    self._queue.append((self._play_end, None))
                elif event == "mark":
                    self._queue.append((max(self._play_end, now), message["mark"]["name"]))
                elif event == "clear":
                    # Twilio drops the queued audio and echoes the marks that were queued with it
                    dropped = [name for _, name in self._queue if name is not None]
                    self._queue.clear()
                    self._play_end = now
                    for name in dropped:
                        await self._echo(name)
                self._changed.set()
        except websockets.ConnectionClosed:
            return

    async def _echo(self, name: str) -> None:
        if self.echo_marks:
            self.echoed.append(name)
            await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def _player(self) -> None:
        while True:
            if not self._queue:
                await anyio.sleep(0.005)
                continue
            due, name = self._queue[0]
            delay = due - time.monotonic()
            if delay > 0:
                await anyio.sleep(min(delay, 0.005))
                continue
            self._queue.pop(0)
            if name is not None:
                try:
                    await self._echo(name)
                except websockets.ConnectionClosed:
                    return
