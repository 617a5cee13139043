"""A fake of the Realtime Calls REST API on a real loopback HTTP/1.1 server (``h11`` over anyio).

It answers ``POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup`` as the API does:
``401`` without a bearer key, ``400`` for an ``OpenAI-Beta`` header or a body that the official
``openai`` types reject (the accept body is validated as ``openai.types.realtime.CallAcceptParams``,
extra keys forbidden), ``404 call_id_not_found`` for an unknown or ended call, else ``200`` with an
empty body. Every request is recorded. :meth:`FakeCallsApi.send_incoming` POSTs a signed
``realtime.call.incoming`` webhook to a URL, like OpenAI does when a SIP call arrives.

The calls live in a :class:`~realtime_graph.transports.simulator.CallBook`; give the same book to
a ``Simulator(calls=book)`` and an accepted call's sideband ``?call_id=`` session starts with the
accepted configuration, unknown calls get 404, and a hangup closes the sideband.

Needs the test extra (``openai``, ``h11``).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
import types
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import h11
import httpx2
from anyio.abc import SocketStream

from ...transports.simulator.callbook import CallBook, CallRecord
from ..webhooks import webhook_headers

__all__ = ("FakeCall", "FakeCallsApi", "RecordedRequest")

_PREFIX = "/v1/realtime/calls/"
_ACTIONS = ("accept", "reject", "refer", "hangup")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received (header names lower-cased; ``body`` parsed JSON or None)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


FakeCall = CallRecord
"""A call the fake knows (the shared :class:`~realtime_graph.transports.simulator.CallRecord`)."""


def _unknown_key(value: Any, tp: Any, path: str) -> str | None:
    """The first key of ``value`` that the TypedDict ``tp`` (walked recursively) does not declare."""
    import typing

    import typing_extensions as te

    origin = te.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        problems = [_unknown_key(value, arm, path) for arm in te.get_args(tp)]
        return None if None in problems else problems[0]
    if origin in (list, typing.List, te.Required, te.NotRequired, te.Annotated):  # noqa: UP006
        args = te.get_args(tp)
        if origin in (list, typing.List) and isinstance(value, list):  # noqa: UP006
            for i, item in enumerate(value):
                found = _unknown_key(item, args[0], f"{path}.{i}")
                if found:
                    return found
            return None
        return _unknown_key(value, args[0], path) if args and origin is not list else None
    if te.is_typeddict(tp):
        if not isinstance(value, dict):
            return None
        hints = te.get_type_hints(tp)
        for key, item in value.items():
            if key not in hints:
                return f"{path}.{key}".lstrip(".")
            found = _unknown_key(item, hints[key], f"{path}.{key}")
            if found:
                return found
    return None


@functools.cache
def _accept_adapter() -> Any:
    """The pydantic adapter of ``CallAcceptParams`` (built once: building it takes milliseconds)."""
    from openai.types.realtime import CallAcceptParams
    from pydantic import TypeAdapter

    return TypeAdapter(CallAcceptParams)


def _accept_problem(body: Any) -> str | None:
    from openai.types.realtime import CallAcceptParams
    from pydantic import ValidationError

    try:
        _accept_adapter().validate_python(body, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    unknown = _unknown_key(body, CallAcceptParams, "")
    return f"{unknown}: Extra inputs are not permitted" if unknown else None


def _error(status: int, message: str, code: str | None, param: str | None = None) -> tuple[int, Any]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


class FakeCallsApi:
    """The fake server; ``async with api.serve() as base_url`` (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, *, api_key: str = "sk-test", calls: CallBook | None = None) -> None:
        self.api_key = api_key
        self.book = calls if calls is not None else CallBook()
        self.calls: dict[str, CallRecord] = self.book.calls
        self.requests: list[RecordedRequest] = []

    def add_call(self, call_id: str | None = None, sip_headers: Sequence[tuple[str, str]] = ()) -> str:
        """Register a pending SIP call (as if an INVITE arrived); returns its ``rtc_…`` id."""
        return self.book.add(call_id, sip_headers)

    def actions(self, call_id: str) -> list[tuple[str, Any]]:
        """``(action, body)`` of every request made for ``call_id``, in order."""
        prefix = f"{_PREFIX}{call_id}/"
        return [(r.path[len(prefix):], r.body) for r in self.requests if r.path.startswith(prefix)]

    def incoming_event(self, call_id: str) -> dict[str, Any]:
        """The ``realtime.call.incoming`` event for a registered call."""
        call = self.calls[call_id]
        return {"object": "event", "id": f"evt_{secrets.token_hex(12)}", "type": "realtime.call.incoming",
                "created_at": int(time.time()), "data": {"call_id": call_id, "sip_headers": list(call.sip_headers)}}

    async def send_incoming(self, url: str, call_id: str, *, secret: str, webhook_id: str | None = None,
                            timestamp: int | None = None) -> httpx2.Response:
        """POST the signed webhook for ``call_id`` to ``url``; returns the receiver's response."""
        body = json.dumps(self.incoming_event(call_id), separators=(",", ":")).encode()
        headers = webhook_headers(body, secret=secret, webhook_id=webhook_id or f"wh_{secrets.token_hex(12)}",
                                  timestamp=timestamp)
        headers["content-type"] = "application/json"
        headers["user-agent"] = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"
        async with httpx2.AsyncClient() as client:
            return await client.post(url, content=body, headers=headers)

    # -- the API ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> tuple[int, Any]:
        """One request → (status, JSON body or None); pure apart from the recorded state."""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                self.requests.append(RecordedRequest(method, path, dict(headers), raw.decode("latin-1")))
                return _error(400, "We could not parse the JSON body of your request.", None)
        self.requests.append(RecordedRequest(method, path, dict(headers), body))
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                   "param": None, "code": "invalid_api_key"}}
        if "openai-beta" in headers:
            return _error(400, "The OpenAI-Beta header is not supported on the GA Calls API.",
                          "beta_api_shape_disabled")
        call_id, _, action = path.removeprefix(_PREFIX).partition("/")
        if not path.startswith(_PREFIX) or action not in _ACTIONS:
            return _error(404, f"Invalid URL ({method} {path})", None)
        if method != "POST":
            return _error(405, f"Method {method} not allowed", None)
        call = self.calls.get(call_id)
        if call is None or call.state in ("ended", "rejected"):
            return _error(404, "No session found for the provided call_id", "call_id_not_found")
        handler = {"accept": self._accept, "reject": self._reject, "refer": self._refer, "hangup": self._hangup}
        return handler[action](call, body)

    def _accept(self, call: FakeCall, body: Any) -> tuple[int, Any]:
        problem = _accept_problem(body)
        if problem:
            return _error(400, f"Invalid accept body: {problem}", "invalid_value")
        if call.state != "pending":
            return _error(400, "The call was already accepted.", "call_already_accepted")
        self.book.accept(call, body)
        return 200, None

    def _reject(self, call: FakeCall, body: Any) -> tuple[int, Any]:
        status = 603 if body is None else body.get("status_code", 603) if isinstance(body, dict) else None
        extra = isinstance(body, dict) and set(body) - {"status_code"}
        if not isinstance(status, int) or not 400 <= status <= 699 or extra:
            return _error(400, "Invalid reject body: status_code must be a SIP status 400-699", "invalid_value",
                          "status_code")
        if call.state != "pending":
            return _error(400, "Only a pending call can be rejected.", "invalid_call_state")
        call.state, call.reject_status = "rejected", status
        return 200, None

    def _refer(self, call: FakeCall, body: Any) -> tuple[int, Any]:
        target = body.get("target_uri") if isinstance(body, dict) else None
        if not isinstance(target, str) or not target.startswith(("tel:", "sip:", "sips:")) or len(body) != 1:
            return _error(400, "Invalid refer body: target_uri must be a tel: or sip: URI", "invalid_value",
                          "target_uri")
        if call.state != "accepted":
            return _error(400, "Only an accepted call can be referred.", "invalid_call_state")
        call.referred_to.append(target)
        return 200, None

    def _hangup(self, call: FakeCall, body: Any) -> tuple[int, Any]:
        self.book.end(call)
        return 200, None

    # -- the HTTP/1.1 shell -------------------------------------------------------------------

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block exits; yields the base URL (what ``OPENAI_BASE_URL`` would be)."""
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        bound = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, self._connection)
            try:
                yield f"http://{host}:{bound}/v1"
            finally:
                tg.cancel_scope.cancel()

    async def _connection(self, stream: SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                request, raw = await self._read_request(conn, stream)
                if request is None:
                    return
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
                status, payload = self.handle(request.method.decode(), request.target.decode(), headers, raw)
                content = b"" if payload is None else json.dumps(payload).encode()
                out = [("content-length", str(len(content)))]
                if content:
                    out.append(("content-type", "application/json"))
                data = conn.send(h11.Response(status_code=status, headers=out))
                for part in (h11.Data(data=content), h11.EndOfMessage()):
                    data = (data or b"") + (conn.send(part) or b"")
                await stream.send(data)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()

    async def _read_request(self, conn: h11.Connection, stream: SocketStream) -> tuple[h11.Request | None, bytes]:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return None, b""
            if event is h11.NEED_DATA:
                try:
                    conn.receive_data(await stream.receive())
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return None, b""
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""
