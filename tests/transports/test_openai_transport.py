"""OpenAITransport against real loopback WebSocket servers: handshake, framing, closes, errors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import anyio
import pytest
from websockets.asyncio.server import serve

from realtime_graph.errors import ConnectError, ConnectionLost
from realtime_graph.transports import ConnectRequest, OpenAITransport
from realtime_graph.transports.handshake import build_url

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def server(script, *, process_request=None) -> AsyncIterator[tuple[str, list[Any]]]:
    """A loopback server running ``script(ws, seen)``; ``seen`` collects requests and frames."""
    seen: list[Any] = []

    async def handler(ws):
        seen.append(ws.request)
        await script(ws, seen)

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime", seen


async def echo_one(ws, seen) -> None:
    message = await ws.recv()
    seen.append(message)
    await ws.send('{"type":"session.created","event_id":"event_1","obfuscation":"xyz","future_field":{"a":1}}')
    await ws.close(1000)


async def test_default_handshake_and_exact_frame(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    async with server(echo_one) as (url, seen):
        transport = OpenAITransport(url=url)
        async with transport.connect(ConnectRequest(model="gpt-realtime")) as conn:
            await conn.send({"type": "response.create", "response": {"instructions": "Hi é"}})
            events = [e async for e in conn]
    request = seen[0]
    assert request.path == "/v1/realtime?model=gpt-realtime"
    assert request.headers["Authorization"] == "Bearer sk-test-123"
    assert "OpenAI-Beta" not in request.headers
    assert request.headers["User-Agent"] == "rtgraph/0.1.0"
    assert seen[1] == '{"type":"response.create","response":{"instructions":"Hi \\u00e9"}}'
    # unknown server fields pass through untouched; the clean close ends iteration
    assert events == [{"type": "session.created", "event_id": "event_1", "obfuscation": "xyz",
                       "future_field": {"a": 1}}]


async def test_call_id_and_explicit_key() -> None:
    async with server(echo_one) as (url, seen):
        async with OpenAITransport(url=url, api_key="sk-explicit").connect(ConnectRequest(call_id="rtc_abc")) as conn:
            await conn.send({"type": "response.create"})
            assert [e["type"] async for e in conn] == ["session.created"]
    assert seen[0].path == "/v1/realtime?call_id=rtc_abc"
    assert seen[0].headers["Authorization"] == "Bearer sk-explicit"


async def test_azure_url_and_api_key_header_used_as_is() -> None:
    async with server(echo_one) as (url, seen):
        azure = url.replace("/v1/realtime", "/openai/v1/realtime")
        transport = OpenAITransport(url=azure, headers={"api-key": "azure-secret", "OpenAI-Beta": "realtime=v1"})
        async with transport.connect(ConnectRequest(model="my-deployment")) as conn:
            await conn.send({"type": "response.create"})
            [e async for e in conn]
    request = seen[0]
    assert request.path == "/openai/v1/realtime?model=my-deployment"
    assert request.headers["api-key"] == "azure-secret"
    assert "Authorization" not in request.headers
    assert "OpenAI-Beta" not in request.headers
    assert "azure-secret" not in repr(transport)


def test_url_building_rules() -> None:
    assert build_url(ConnectRequest(model="gpt-realtime")) == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert build_url(ConnectRequest(call_id="rtc_1")) == "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    custom = "wss://res.openai.azure.com/openai/v1/realtime?model=dep"
    assert build_url(ConnectRequest(model="other"), custom) == custom
    with pytest.raises(ConnectError, match="both model and call_id"):
        build_url(ConnectRequest(model="m", call_id="c"))
    with pytest.raises(ConnectError, match="must start with ws:// or wss://"):
        build_url(ConnectRequest(model="m"), "https://example.com/v1/realtime")
    with pytest.raises(ConnectError) as info:
        build_url(ConnectRequest())
    assert str(info.value) == "cannot connect without a model or a call_id; set model: in the graph"
    # a custom endpoint may route to a fixed deployment: sent as given, nothing appended
    assert build_url(ConnectRequest(), "ws://127.0.0.1:8080/v1/realtime") == "ws://127.0.0.1:8080/v1/realtime"


async def test_missing_key_is_a_one_line_fix() -> None:
    with pytest.raises(ConnectError, match=r"^no OpenAI API key: set OPENAI_API_KEY") as info:
        async with OpenAITransport(url="ws://127.0.0.1:9/v1/realtime").connect(ConnectRequest(model="m")):
            pass
    assert "\n" not in str(info.value)


async def test_abnormal_close_raises_connection_lost() -> None:
    async def crash(ws, seen):
        await ws.send('{"type":"session.created","event_id":"e"}')
        await ws.close(1011, "internal error")

    async with server(crash) as (url, _):
        async with OpenAITransport(url=url, api_key="k").connect(ConnectRequest(model="m")) as conn:
            got = []
            with pytest.raises(ConnectionLost) as info:
                async for event in conn:
                    got.append(event["type"])
    assert got == ["session.created"]
    assert (info.value.code, info.value.reason) == (1011, "internal error")
    assert str(info.value) == "realtime connection closed abnormally (code 1011: internal error)"


async def test_going_away_close_ends_iteration() -> None:
    async def away(ws, seen):
        await ws.close(1001, "bye")

    async with server(away) as (url, _):
        async with OpenAITransport(url=url, api_key="k").connect(ConnectRequest(model="m")) as conn:
            assert [e async for e in conn] == []
            with pytest.raises(ConnectionLost):
                await conn.send({"type": "response.create"})


async def test_http_401_is_connect_error_with_status_and_no_secret() -> None:
    def reject(connection, request):
        return connection.respond(HTTPStatus.UNAUTHORIZED, "Incorrect API key provided\n")

    async def never(ws, seen):  # pragma: no cover - the handshake is rejected first
        raise AssertionError

    async with server(never, process_request=reject) as (url, _):
        with pytest.raises(ConnectError) as info:
            transport = OpenAITransport(url=url + "?api-key=q-secret", api_key="sk-secret")
            async with transport.connect(ConnectRequest(model="m")):
                pass
    assert info.value.status == 401
    assert "HTTP 401 (check the API key or headers)" in str(info.value)
    assert "secret" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_refused_and_timeout_are_connect_errors() -> None:
    with pytest.raises(ConnectError, match=r"cannot reach ws://127.0.0.1:9/v1/realtime"):
        async with OpenAITransport(url="ws://127.0.0.1:9/v1/realtime", api_key="k").connect(ConnectRequest(model="m")):
            pass
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener:  # accepts TCP but never answers the upgrade
        with pytest.raises(ConnectError, match=r"^timed out after 0.2s opening ws://127.0.0.1:\d+/v1/realtime$"):
            async with OpenAITransport(url=f"ws://127.0.0.1:{port}/v1/realtime", api_key="k",
                                       open_timeout=0.2).connect(ConnectRequest(model="m")):
                pass


_UPGRADED = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"


@pytest.mark.parametrize("answer, hold, why", [
    (_UPGRADED + b"\r\n", True, "missing Sec-WebSocket-Accept header"),
    (_UPGRADED + b"Sec-WebSocket-Accept: nope\r\n\r\n", True, "invalid Sec-WebSocket-Accept header: nope"),
    (b"hello\r\n\r\n", False, "did not receive a valid HTTP response"),  # a non-HTTP server hangs up
], ids=["no-accept-header", "wrong-accept-header", "not-http"])
async def test_bad_upgrade_answer_is_connect_error(answer, hold, why) -> None:
    async def answer_once(stream) -> None:
        async with stream:
            await stream.receive()  # the upgrade request
            await stream.send(answer)
            if hold:  # the client must fail on the answer itself, not on the socket closing
                await anyio.sleep(5)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, answer_once)
        with pytest.raises(ConnectError) as info:
            async with OpenAITransport(url=f"ws://127.0.0.1:{port}/v1/realtime?api-key=q-secret",
                                       api_key="k").connect(ConnectRequest(model="m")):
                pass
        tg.cancel_scope.cancel()
    assert str(info.value) == f"realtime handshake with ws://127.0.0.1:{port}/v1/realtime failed: {why}"
    assert info.value.status is None and info.value.__cause__ is None


async def test_non_json_frame_is_transport_error() -> None:
    from realtime_graph.errors import TransportError

    async def garbage(ws, seen):
        await ws.send("not json")
        await ws.wait_closed()

    async with server(garbage) as (url, _):
        async with OpenAITransport(url=url, api_key="k").connect(ConnectRequest(model="m")) as conn:
            with pytest.raises(TransportError, match="not JSON"):
                async for _ in conn:
                    pass


async def test_frames_that_decode_to_non_objects_pass_through_and_too_deep_is_transport_error() -> None:
    from realtime_graph.errors import TransportError

    async def odd(ws, seen):
        for frame in ('"text"', "null", "[1]", "[" * 100_000 + "]" * 100_000):
            await ws.send(frame)
        await ws.wait_closed()

    got = []
    async with server(odd) as (url, _):
        async with OpenAITransport(url=url, api_key="k").connect(ConnectRequest(model="m")) as conn:
            with pytest.raises(TransportError) as info:
                async for event in conn:
                    got.append(event)
    assert got == ["text", None, [1]]  # the session reports these as error events (reader.py)
    assert str(info.value) == "the realtime server sent a JSON frame nested too deeply to decode"
    assert info.value.__cause__ is None


def test_repr_hides_key() -> None:
    transport = OpenAITransport(api_key="sk-very-secret")
    assert repr(transport) == "OpenAITransport(url=None, api_key=<set>)"
    assert json.dumps(repr(transport)).count("secret") == 0


def test_a_url_without_a_scheme_is_never_echoed_with_its_key() -> None:
    with pytest.raises(ConnectError) as info:
        build_url(ConnectRequest(model="m"), "example.com/v1/realtime?api_key=sk-secret&model=m")
    assert str(info.value) == ("realtime url must start with ws:// or wss://, got "
                               "'example.com/v1/realtime?api_key=***&model=***'")
    with pytest.raises(ConnectError) as info:
        build_url(ConnectRequest(model="m"), "https://user:pw@example.com/v1/realtime")
    assert str(info.value).endswith("got 'https://***@example.com/v1/realtime'")
