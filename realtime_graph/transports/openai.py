"""The OpenAI Realtime GA transport: a thin shell around a ``websockets`` client connection.

Events are JSON objects in text frames both ways. The receive loop is the per-event hot path,
so it does exactly one ``json.loads`` per frame and nothing else; unknown fields pass through.
Every ``websockets``/``OSError`` exception is translated here into
:class:`~realtime_graph.errors.ConnectError` or :class:`~realtime_graph.errors.ConnectionLost`.
Secrets (API keys, header values, URL queries) never appear in messages or reprs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus, WebSocketException

from ..errors import ConnectError, ConnectionLost, TransportError
from .base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport
from .handshake import build_headers, build_url, user_agent

__all__ = ("OpenAITransport", "WebSocketConnection")

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _where(url: str) -> str:
    """``scheme://host/path`` of ``url``: the query may carry secrets (Azure ``api-key``)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    frame = exc.rcvd or exc.sent
    code = frame.code if frame is not None else 1006
    reason = frame.reason if frame is not None else ""
    detail = f": {reason}" if reason else ""
    return ConnectionLost(f"realtime connection closed abnormally (code {code}{detail})", code=code, reason=reason)


class WebSocketConnection(Connection):
    """One open GA Realtime WebSocket. Created by :meth:`OpenAITransport.connect`."""

    __slots__ = ("_ws",)

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def send(self, event: ClientEvent) -> None:
        """Send ``event`` as one compact JSON text frame."""
        try:
            await self._ws.send(_dumps(event))
        except ConnectionClosed as exc:
            raise _lost(exc) from None

    async def __aiter__(self) -> AsyncIterator[ServerEvent]:
        loads = json.loads
        try:
            async for message in self._ws:
                yield loads(message)
        except ConnectionClosedError as exc:
            raise _lost(exc) from None
        except ValueError as exc:
            raise TransportError(f"the realtime server sent a frame that is not JSON: {exc}") from None
        except RecursionError:
            raise TransportError("the realtime server sent a JSON frame nested too deeply to decode") from None

    async def aclose(self) -> None:
        """Close with code 1000 (idempotent)."""
        with contextlib.suppress(OSError):
            await self._ws.close()

    @property
    def close_code(self) -> int | None:
        code: int | None = self._ws.close_code
        return code

    def __repr__(self) -> str:
        return f"WebSocketConnection(id={self._ws.id})"


class OpenAITransport(Transport):
    """Connects to the OpenAI Realtime GA WebSocket (or any GA-compatible endpoint).

    :param url: custom endpoint, used verbatim (e.g. Azure GA
        ``wss://<resource>.openai.azure.com/openai/v1/realtime``); ``?model=``/``?call_id=`` is
        appended when the URL does not name one. Default ``wss://api.openai.com/v1/realtime``.
    :param api_key: sent as ``Authorization: Bearer <key>``; default ``$OPENAI_API_KEY``.
    :param headers: handshake headers used as-is instead of the ``Authorization`` header
        (e.g. ``{"api-key": ...}`` for Azure). ``OpenAI-Beta`` is never sent.
    :param open_timeout: seconds allowed for TCP + TLS + the WebSocket handshake.
    :param max_size: largest accepted frame in bytes (``None``: unlimited); retrieved items carry
        whole audio clips, so the websockets default of 1 MiB is too small.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        open_timeout: float = 10.0,
        max_size: int | None = 16 * 2**20,
    ) -> None:
        self._url = url
        self._api_key = api_key
        self._headers = dict(headers) if headers is not None else None
        self._open_timeout = open_timeout
        self._max_size = max_size

    def __repr__(self) -> str:
        if self._headers is not None:
            auth = f"headers={sorted(self._headers)}"
        else:
            auth = f"api_key={'<set>' if self._api_key else '$OPENAI_API_KEY'}"
        url = _where(self._url) if self._url else None
        return f"OpenAITransport(url={url!r}, {auth})"

    @contextlib.asynccontextmanager
    async def connect(self, request: ConnectRequest) -> AsyncIterator[WebSocketConnection]:
        """Open a connection for ``request``; closes it on exit.

        :raises ConnectError: bad URL, missing key, refused, timed out, or HTTP status at the
            upgrade (``status`` carries it, e.g. 401/403).
        """
        url = build_url(request, self._url)
        headers = build_headers(api_key=self._api_key, headers=self._headers)
        ws = await self._open(url, headers)
        connection = WebSocketConnection(ws)
        try:
            yield connection
        finally:
            await connection.aclose()

    async def _open(self, url: str, headers: dict[str, str]) -> ClientConnection:
        where = _where(url)
        try:
            return await connect(
                url,
                additional_headers=headers,
                user_agent_header=user_agent(),
                open_timeout=self._open_timeout,
                max_size=self._max_size,
                # Loopback (the simulator) must never be routed through a proxy from the env.
                proxy=None if urlsplit(url).hostname in _LOOPBACK else True,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            hint = " (check the API key or headers)" if status in (401, 403) else ""
            raise ConnectError(
                f"realtime handshake with {where} rejected: HTTP {status}{hint}", status=status
            ) from None
        except TimeoutError:
            raise ConnectError(
                f"timed out after {self._open_timeout:g}s opening {where}"
            ) from None
        except OSError as exc:
            raise ConnectError(f"cannot reach {where}: {exc.strerror or exc}") from None
        except WebSocketException as exc:
            raise ConnectError(f"realtime handshake with {where} failed: {exc}") from None
