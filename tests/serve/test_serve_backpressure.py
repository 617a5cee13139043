"""The browser socket's send path: ordering and bounds of the outbox, slow browsers, Nagle, GC."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import socket
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve

from realtime_graph.serve import browser_channel
from realtime_graph.serve.browser_outbox import BrowserOutbox, Close
from realtime_graph.serve.serve_host import _bind, _tune_gc
from realtime_graph.transports import OpenAITransport
from tests.support.serving import EXAMPLE, serving

pytestmark = pytest.mark.anyio


class _Socket:
    """Records what reaches the socket; ``gate`` (when set) holds every send until it is set."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.gate: anyio.Event | None = None
        self.inside = 0
        self.most_inside = 0

    async def _send(self, item: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.gate is not None:
                await self.gate.wait()
            self.sent.append(item)
        finally:
            self.inside -= 1

    async def send_bytes(self, data: bytes) -> None:
        await self._send(data)

    async def send_text(self, text: str) -> None:
        await self._send(text)

    async def close(self, code: int, reason: str) -> None:
        await self._send(("close", code, reason))

    def outbox(self, overflows: list[int], max_bytes: int = 1 << 20) -> BrowserOutbox:
        return BrowserOutbox(send_bytes=self.send_bytes, send_text=self.send_text, close=self.close,
                             on_overflow=overflows.append, max_bytes=max_bytes)


async def test_frames_leave_in_order_one_send_at_a_time_and_json_as_starlette_encodes_it() -> None:
    sock, overflows = _Socket(), []
    outbox = sock.outbox(overflows)
    sock.gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(outbox.run)
        tg.start_soon(outbox.send, b"\x01\x00")  # the pump: blocked inside the send
        await anyio.sleep(0.01)
        outbox.put({"type": "error", "code": "bad_message", "message": "é"})  # queued behind it
        await outbox.send({"type": "audio", "item_id": "i", "content_index": 0})  # queued, returns at once
        assert outbox.queued_bytes > 0 and sock.sent == []
        sock.gate.set()
        outbox.put(Close(1000, "session ended"))
        outbox.end()
    assert sock.sent == [b"\x01\x00", '{"type":"error","code":"bad_message","message":"é"}',
                         '{"type":"audio","item_id":"i","content_index":0}', ("close", 1000, "session ended")]
    assert sock.most_inside == 1 and overflows == [] and outbox.queued_bytes == 0


async def test_a_browser_that_does_not_take_frames_overflows_once_and_nothing_more_is_kept() -> None:
    sock, overflows = _Socket(), []
    outbox = sock.outbox(overflows, max_bytes=10_000)
    sock.gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(outbox.send, bytes(4800))  # never taken
        await anyio.sleep(0.01)
        await outbox.send(bytes(4800))
        await outbox.send(bytes(4800))
        assert overflows == [] and outbox.queued_bytes == 9600
        await outbox.send(bytes(4800))  # 14,400 bytes waiting: over the bound
        assert overflows == [9600] and outbox.queued_bytes == 0
        await outbox.send(bytes(4800))
        outbox.put({"type": "closing", "reason": "ended"})
        assert overflows == [9600] and outbox.queued_bytes == 0
        await outbox.run()  # ended by the overflow: returns without sending anything queued
        tg.cancel_scope.cancel()
    assert sock.sent == []


async def test_end_lets_the_writer_return_after_what_is_queued() -> None:
    sock, overflows = _Socket(), []
    outbox = sock.outbox(overflows)
    outbox.put({"type": "closing", "reason": "drained"})
    outbox.end()
    outbox.put({"type": "late"})  # after end(): dropped
    with anyio.fail_after(2):
        await outbox.run()
    assert sock.sent == ['{"type":"closing","reason":"drained"}']


async def test_accepted_browser_sockets_send_small_frames_at_once() -> None:
    # The listening socket must say IPPROTO_TCP: asyncio then sets TCP_NODELAY on every accepted
    # socket. Without it the first audio frame waited for the browser's delayed ACK (40 ms).
    sock = _bind("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    nodelay: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            raw = transport.get_extra_info("socket")
            nodelay.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        assert await asyncio.wait_for(nodelay, 5) == 1
        writer.close()
    finally:
        server.close()


# -- a slow browser against a real server ------------------------------------------------------

_SESSION = {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}}}


async def _flooding_realtime(ws: ServerConnection) -> None:
    """A Realtime server that streams 2 s audio deltas every 10 ms for 4 s."""
    await ws.send(json.dumps({"type": "session.created", "session": _SESSION}))
    await ws.recv()  # session.update
    await ws.send(json.dumps({"type": "session.updated", "session": _SESSION}))
    delta = base64.b64encode(bytes(96_000)).decode()
    for _ in range(400):
        await ws.send(json.dumps({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i",
                                  "output_index": 0, "content_index": 0, "delta": delta}))
        await anyio.sleep(0.01)
    await ws.wait_closed()


async def _open_and_never_read(url: str) -> socket.socket:
    """A browser that completes the WebSocket handshake and then never reads a byte."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: fills at once
    raw.connect((host, int(port)))
    raw.sendall(f"GET /browser/session HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(bytes(16)).decode()}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rtgraph.v1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await anyio.to_thread.run_sync(raw.recv, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


@pytest.mark.slow
async def test_a_browser_that_stops_reading_is_closed_as_slow_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_channel, "STALL_SECONDS", 0.5)
    async with serve(_flooding_realtime, "127.0.0.1", 0, max_size=None) as upstream:
        port = upstream.sockets[0].getsockname()[1]
        transport = OpenAITransport(url=f"ws://127.0.0.1:{port}/v1/realtime", api_key="x")
        async with serving(EXAMPLE, transport=transport) as url:
            raw = await _open_and_never_read(url)
            try:
                with anyio.fail_after(15):
                    while "outcome=slow_client" not in url.log.getvalue():
                        await anyio.sleep(0.05)
            finally:
                raw.close()
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(url.path("/metrics"))).text
    log = url.log.getvalue()
    assert "slow browser" in log and "a send waited 0.5s; server events" in log
    assert 'rtgraph_sessions_ended_total{channel="browser",outcome="slow_client"} 1.0' in metrics


def test_serve_owning_the_process_keeps_startup_objects_out_of_the_collector() -> None:
    # A full collection over every module and session object paused 300 streaming sessions for
    # 175-333 ms; serve freezes what exists at startup and collects older generations rarely.
    before = gc.get_threshold()
    try:
        _tune_gc()
        assert gc.get_threshold() == (2000, 10, 1000) and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
