"""The WebSocket shell around the pure simulator engine (``websockets.asyncio.server``).

Per connection, three tasks in one task group: a reader feeds client events to the engine
(acknowledgements go out at once, so a ``response.cancel`` or barge-in lands mid-response), a
pump drains the active response batch by batch with pacing, and a writer owns the socket's
send side so events leave in exactly the order the engine produced them.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import anyio

from .callbook import CallBook
from .vocabulary import Batch

__all__ = ("BETA_ERROR", "REALTIME_PATHS", "EngineLike", "serve_engine")

_dumps = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per event

BETA_ERROR = {
    "type": "invalid_request_error",
    "code": "beta_api_shape_disabled",
    "message": "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
    "param": None,
    "event_id": None,
}
_BETA_SUBPROTOCOL = "openai-beta.realtime-v1"


class EngineLike(Protocol):
    def open(self) -> list[dict[str, Any]]: ...
    def receive(self, event: Any) -> list[dict[str, Any]]: ...
    def next_batch(self) -> Batch | None: ...


EngineFactory = Callable[[str | None, str | None], EngineLike]
"""``(model, call_id) -> engine`` for one new connection."""

_Close = tuple[int, str]


# The served URL ends in /v1/realtime; the openai client appends "/realtime" to its
# websocket_base_url, so that URL used as a base arrives as /v1/realtime/realtime: accept both.
REALTIME_PATHS = frozenset({"/v1/realtime", "/openai/v1/realtime", "/v1/realtime/realtime",
                            "/openai/v1/realtime/realtime"})


def _api_error(code: str, message: str, param: str | None) -> str:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code,
                                 "param": param}}) + "\n"


def _check_request(connection: Any, request: Any) -> Any:
    """Reject bad handshakes with an HTTP status, as the live endpoint does."""
    url = urlsplit(request.path)
    if url.path.rstrip("/") not in REALTIME_PATHS:
        return connection.respond(HTTPStatus.NOT_FOUND, "Not found: use /v1/realtime\n")
    auth = request.headers.get("Authorization", "")
    if not (auth.startswith("Bearer ") and auth[7:].strip()) and not request.headers.get("api-key"):
        return connection.respond(HTTPStatus.UNAUTHORIZED, "Missing bearer authentication in header\n")
    query = parse_qs(url.query)
    if not query.get("model") and not query.get("call_id"):
        return connection.respond(HTTPStatus.BAD_REQUEST, _api_error(
            "missing_required_parameter", "Missing required parameter: 'model' (or 'call_id' to attach to a call).",
            "model"))
    if query.get("model") and query.get("call_id"):
        return connection.respond(HTTPStatus.BAD_REQUEST, _api_error(
            "invalid_request_error", "Pass either 'model' or 'call_id', not both.", "call_id"))
    return None


def _select_subprotocol(connection: Any, subprotocols: Any) -> Any:
    return "realtime" if "realtime" in subprotocols else None


def _check_call(calls: CallBook, connection: Any, request: Any) -> Any:
    """With a call book, ``?call_id=`` must name an accepted, live call (else 404, as live)."""
    refused = _check_request(connection, request)
    if refused is not None:
        return refused
    call_id = parse_qs(urlsplit(request.path).query).get("call_id", [None])[0]
    if call_id is not None and calls.attachable(call_id) is None:
        return connection.respond(HTTPStatus.NOT_FOUND, _api_error(
            "call_id_not_found", "No session found for the provided call_id", "call_id"))
    return None


async def _handle(ws: Any, factory: EngineFactory, realtime_factor: float, calls: CallBook | None) -> None:
    from websockets.exceptions import ConnectionClosed

    request = ws.request
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    if request.headers.get("OpenAI-Beta") or _BETA_SUBPROTOCOL in offered:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"type": "error", "event_id": "event_beta", "error": BETA_ERROR}))
            await ws.close(4000, "beta_api_shape_disabled")
        return
    query = parse_qs(urlsplit(request.path).query)
    call_id = query.get("call_id", [None])[0]
    engine = factory(query.get("model", [None])[0], call_id)
    out_send, out_recv = anyio.create_memory_object_stream[list[dict[str, Any]] | _Close](math.inf)
    record = calls.attachable(call_id) if calls is not None and call_id is not None else None

    def call_ended() -> None:  # hung up through the Calls API: the sideband closes, as live
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            out_send.send_nowait((1000, "call ended"))

    unwatch = calls.watch(record, call_ended) if calls is not None and record is not None else None
    kick_send, kick_recv = anyio.create_memory_object_stream[None](math.inf)

    async def write() -> None:
        async with out_recv:
            async for item in out_recv:
                if isinstance(item, tuple):
                    await ws.close(*item)
                    return
                for event in item:
                    frame: object = event  # a str is a raw text frame, sent as it is (faults.py)
                    await ws.send(frame if isinstance(frame, str) else _dumps(frame))

    async def pump() -> None:
        async with kick_recv:
            async for _ in kick_recv:
                while (batch := engine.next_batch()) is not None:
                    if batch.events:
                        out_send.send_nowait(batch.events)
                    if batch.close is not None:
                        out_send.send_nowait(batch.close)
                        return
                    pause = batch.wait_ms / 1000 + batch.pace_ms * realtime_factor / 1000
                    if pause > 0:
                        await anyio.sleep(pause)
                    else:
                        await anyio.lowlevel.checkpoint()  # let the reader and writer interleave

    async def read() -> None:
        async for message in ws:
            try:
                event = json.loads(message)
            except ValueError:
                event = None
            try:
                out_send.send_nowait(engine.receive(event))
                kick_send.send_nowait(None)
            except anyio.BrokenResourceError:
                # The pump ended with a close (scripted or injected) that the writer sends or
                # sent: ignore what the client says meanwhile; reading ends with the close.
                continue

    try:
        async with anyio.create_task_group() as tg, out_send, kick_send:
            tg.start_soon(write)
            tg.start_soon(pump)
            out_send.send_nowait(engine.open())
            kick_send.send_nowait(None)
            await read()
            tg.cancel_scope.cancel()  # the client closed: stop generating
    except* ConnectionClosed:
        pass  # the client went away mid-send; nothing left to do for this connection
    finally:
        if unwatch is not None:
            unwatch()


@contextlib.asynccontextmanager
async def serve_engine(
    factory: EngineFactory, *, host: str, port: int, realtime_factor: float, calls: CallBook | None = None
) -> AsyncIterator[str]:
    """Serve GA Realtime on ``host:port`` (0: any free port); yields ``ws://host:port/v1/realtime``.

    ``calls``: attach by ``?call_id=`` only to the book's accepted calls (see ``callbook.py``).
    """
    from functools import partial

    from websockets.asyncio.server import serve

    async def handler(ws: Any) -> None:
        await _handle(ws, factory, realtime_factor, calls)

    async with serve(
        handler, host, port,
        process_request=_check_request if calls is None else partial(_check_call, calls),
        select_subprotocol=_select_subprotocol,
        max_size=None,
        server_header="rtgraph-simulator",
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        yield f"ws://{shown}:{bound}/v1/realtime"
