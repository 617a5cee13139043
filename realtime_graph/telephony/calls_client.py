"""The Realtime Calls REST API: accept, reject, refer and hang up a SIP call (``httpx2`` shell).

``{base}`` is ``base_url``, else ``$OPENAI_BASE_URL`` (the ``openai`` package's convention; tests
point it at a loopback fake), else ``https://api.openai.com/v1``. Auth is the transports' rule:
``Authorization: Bearer <api_key or $OPENAI_API_KEY>`` unless explicit headers are given. The
beta header is never sent. A 404 on accept means the caller hung up before we answered (OpenAI
and Twilio retry webhooks after that): :meth:`CallsClient.accept` returns ``CALLER_GONE``
instead of raising.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx2

from ..errors import ConnectError
from ..transports.handshake import build_headers, user_agent
from .call_errors import CallsApiError

__all__ = ("DEFAULT_BASE_URL", "AcceptResult", "CallsClient", "accept_body", "calls_base_url")

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class AcceptResult(enum.Enum):
    """What :meth:`CallsClient.accept` achieved."""

    ACCEPTED = "accepted"
    CALLER_GONE = "caller_gone"


def calls_base_url(base_url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``base_url`` → ``$OPENAI_BASE_URL`` → the default, without a trailing slash."""
    env = os.environ if environ is None else environ
    return (base_url or env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def accept_body(session: Mapping[str, Any], *, model: str | None = None) -> dict[str, Any]:
    """The accept request body: the agent's GA ``session`` object, ``type: realtime``, and ``model``.

    ``session`` is what the runtime sends as ``session.update`` for the agent (so the call starts
    exactly as the sideband session expects); ``model`` is set when given (a SIP session's model is
    fixed at accept time).
    """
    body = {key: value for key, value in session.items() if key != "model_name"}
    body["type"] = "realtime"
    if model is not None:
        body["model"] = model
    return body


def _error_code(response: httpx2.Response) -> tuple[str | None, str]:
    try:
        payload = response.json()
    except (ValueError, json.JSONDecodeError):
        return None, response.text[:200]
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return (code if isinstance(code, str) else None), str(error.get("message", ""))[:200]
    return None, response.text[:200]


class CallsClient:
    """Async client of ``{base}/realtime/calls/{call_id}/…``; use as ``async with CallsClient() as c``."""

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 10.0,
                 environ: Mapping[str, str] | None = None) -> None:
        self.base_url = calls_base_url(base_url, environ)
        try:
            auth = build_headers(api_key=api_key, headers=headers, environ=environ)
        except ConnectError as exc:
            raise CallsApiError(str(exc)) from None
        self._headers = {**auth, "User-Agent": user_agent()}
        self._timeout = timeout
        self._client: httpx2.AsyncClient | None = None

    async def __aenter__(self) -> CallsClient:
        self._client = httpx2.AsyncClient(timeout=self._timeout, headers=self._headers)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def url(self, call_id: str, action: str) -> str:
        """``{base}/realtime/calls/{call_id}/{action}`` (the call id path-escaped)."""
        return f"{self.base_url}/realtime/calls/{quote(call_id, safe='')}/{action}"

    async def _post(self, call_id: str, action: str, body: Mapping[str, Any] | None) -> httpx2.Response:
        if self._client is None:
            raise CallsApiError("CallsClient is not open; use `async with CallsClient() as calls:`")
        url = self.url(call_id, action)
        try:
            if body is None:
                return await self._client.post(url)
            return await self._client.post(url, content=json.dumps(body, separators=(",", ":")),
                                          headers={"Content-Type": "application/json"})
        except httpx2.HTTPError as exc:
            raise CallsApiError(f"{action} of call {call_id}: {type(exc).__name__}: {exc}") from None

    def _raise(self, call_id: str, action: str, response: httpx2.Response) -> None:
        if 200 <= response.status_code < 300:
            return
        code, message = _error_code(response)
        raise CallsApiError(f"{action} of call {call_id} failed: HTTP {response.status_code}"
                            f"{' ' + code if code else ''}: {message}", status=response.status_code, code=code)

    async def accept(self, call_id: str, body: Mapping[str, Any]) -> AcceptResult:
        """``POST …/accept`` with ``body`` (see :func:`accept_body`); ``CALLER_GONE`` on 404.

        :raises CallsApiError: any other non-2xx answer or a network failure.
        """
        response = await self._post(call_id, "accept", body)
        if response.status_code == 404:
            return AcceptResult.CALLER_GONE
        self._raise(call_id, "accept", response)
        return AcceptResult.ACCEPTED

    async def reject(self, call_id: str, status_code: int = 486) -> None:
        """``POST …/reject`` with a SIP status (486 Busy Here by default; the API's own default is 603)."""
        if not 400 <= status_code <= 699:
            raise CallsApiError(f"SIP reject status must be 400-699, got {status_code}")
        self._raise(call_id, "reject", await self._post(call_id, "reject", {"status_code": status_code}))

    async def refer(self, call_id: str, target_uri: str) -> None:
        """``POST …/refer``: SIP REFER the caller to ``target_uri`` (``tel:`` or ``sip:``)."""
        from ..config.telephony_checks import transfer_target_problem

        problem = transfer_target_problem(target_uri)
        if problem:
            raise CallsApiError(problem)
        self._raise(call_id, "refer", await self._post(call_id, "refer", {"target_uri": target_uri}))

    async def hangup(self, call_id: str) -> None:
        """``POST …/hangup`` (no body)."""
        self._raise(call_id, "hangup", await self._post(call_id, "hangup", None))
