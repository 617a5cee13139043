"""Capacity, tokens, Origin and the probes, against a real server on loopback."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.serving import EXAMPLE, browser, serving

pytestmark = pytest.mark.anyio


async def _ready(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(url + "readyz")
    return response.status_code, response.json()


async def test_capacity_refuses_with_1013_and_readyz_reports_full_until_a_slot_frees() -> None:
    async with serving(EXAMPLE, max_sessions=2) as url:
        assert (await _ready(url))[0] == 200
        async with browser(url) as first, browser(url) as second:
            await first.until("session")
            await second.until("session")
            status, body = await _ready(url)
            assert (status, body["status"], body["reason"], body["sessions"], body["max_sessions"]) == \
                (503, "not ready", "full", 2, 2)
            async with browser(url) as third:
                await third.ws.wait_closed()
                assert (third.ws.close_code, third.ws.close_reason) == (1013, "try again later (server is at capacity)")
                assert third.seen == []
        with anyio.fail_after(5):
            while (await _ready(url))[0] != 200:
                await anyio.sleep(0.02)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(url.path("/metrics"))).text
        assert 'rtgraph_sessions_refused_total{channel="browser",reason="full"} 1.0' in metrics
        assert "rtgraph: session refused channel=browser reason=full" in url.log.getvalue()


async def test_healthz_and_readyz_bodies() -> None:
    async with serving(EXAMPLE) as url, httpx.AsyncClient() as http:
        health = await http.get(url.path("/healthz"))
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        ready = await http.get(url.path("/readyz"))
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "sessions": 0, "max_sessions": 100,
                                "graph_version": url.server.registry.graph.version}
        metrics = await http.get(url.path("/metrics"))
        assert metrics.headers["content-type"].startswith("text/plain; version=")
        assert "rtgraph_max_sessions 100.0" in metrics.text
        names = {line.split()[2] for line in metrics.text.splitlines() if line.startswith("# TYPE")}
        assert all(name.startswith("rtgraph_") for name in names)


async def test_a_configured_token_is_required_and_never_travels_in_the_url() -> None:
    async with serving(EXAMPLE, token="s3cret-token") as url:
        for token in (None, "wrong"):
            with pytest.raises(InvalidStatus) as refused:
                async with browser(url, token=token):
                    pass
            assert refused.value.response.status_code == 403
        async with browser(url, token="s3cret-token") as b:
            hello = await b.until("session")
            assert b.ws.subprotocol == "rtgraph.v1"
            assert "s3cret" not in str(hello)
        assert "s3cret" not in url.log.getvalue()
        assert "rtgraph: session refused channel=browser reason=auth" in url.log.getvalue()


async def test_origin_must_be_same_origin_or_listed() -> None:
    async with serving(EXAMPLE, allowed_origins=("https://console.example.com",)) as url:
        own = url.rstrip("/")
        with pytest.raises(InvalidStatus) as refused:
            async with browser(url, origin="http://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):  # same host, other port: another origin
            async with browser(url, origin="http://127.0.0.1:1"):
                pass
        for origin in (own, "https://console.example.com"):
            async with browser(url, origin=origin) as b:
                assert (await b.until("session"))["protocol"] == 1


async def _handshake_status(url: str, host_header: str) -> bytes:
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    request = (f"GET /browser/session HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rtgraph.v1\r\n\r\n")
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(request.encode())
        with anyio.fail_after(5):
            return (await stream.receive()).split(b"\r\n", 1)[0]


async def test_a_loopback_server_refuses_a_rebound_host_name() -> None:
    """DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1 is same-origin
    with itself, so only the Host header gives it away."""
    async with serving(EXAMPLE) as url:
        port = url.rstrip("/").rsplit(":", 1)[1]
        assert await _handshake_status(url, f"attacker.example:{port}") == b"HTTP/1.1 403 Forbidden"
        assert await _handshake_status(url, f"localhost:{port}") == b"HTTP/1.1 101 Switching Protocols"


async def test_shutdown_stops_the_server_at_once_though_uvicorn_ticks_once_a_second() -> None:
    started = 0.0
    async with serving(EXAMPLE) as url:
        await anyio.sleep(0.2)  # uvicorn's main loop is inside its one-second wait
        started = time.monotonic()
    assert time.monotonic() - started < 0.5  # shutdown() woke the main loop, not its next tick
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url.path("/healthz"))


async def test_shutdown_tells_live_sessions_closing_then_1001() -> None:
    async with serving(EXAMPLE) as url:
        client = browser(url)
        b = await client.__aenter__()
        await b.until("session")
        url.server.shutdown()
        closing = await b.until("closing")
        assert closing == {"type": "closing", "reason": "shutdown"}
        await b.ws.wait_closed()
        assert (b.ws.close_code, b.ws.close_reason) == (1001, "shutdown")
        await client.__aexit__(None, None, None)
    assert "outcome=shutdown" in url.log.getvalue()
