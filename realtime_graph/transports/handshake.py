"""Pure construction of the GA Realtime WebSocket handshake: URL and headers.

No I/O here, so the exact URL and header set the OpenAI transport will use can be tested
without a socket. The beta header ``OpenAI-Beta`` is never produced (it gets GA connections
rejected with ``beta_api_shape_disabled``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConnectError, redact_url
from .base import ConnectRequest

__all__ = ("DEFAULT_URL", "build_headers", "build_url", "user_agent")

DEFAULT_URL = "wss://api.openai.com/v1/realtime"
"""The GA endpoint; ``?model=`` or ``?call_id=`` is appended per connection."""

_MISSING_KEY = (
    "no OpenAI API key: set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...) or pass api_key=..., "
    "or give explicit headers (e.g. Azure's api-key)"
)


def build_url(request: ConnectRequest, url: str | None = None) -> str:
    """The WebSocket URL for ``request``.

    Default: ``wss://api.openai.com/v1/realtime?model=<model>`` or ``?call_id=<id>``. A custom
    ``url`` (e.g. Azure GA ``wss://<res>.openai.azure.com/openai/v1/realtime``) is used verbatim
    when it already names ``model`` or ``call_id``; otherwise the request's parameter is appended.

    :raises ConnectError: if both ``model`` and ``call_id`` are set, or the URL is not ws/wss.
    """
    if request.model is not None and request.call_id is not None:
        raise ConnectError(
            "cannot connect with both model and call_id: call_id attaches to an existing call "
            "whose model is already fixed; pass only one"
        )
    base = DEFAULT_URL if url is None else url
    parts = urlsplit(base)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ConnectError(f"realtime url must start with ws:// or wss://, got {redact_url(base)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name in ("model", "call_id") for name, _ in query):
        return base
    if request.call_id is not None:
        query.append(("call_id", request.call_id))
    elif request.model is not None:
        query.append(("model", request.model))
    elif url is None:
        raise ConnectError("cannot connect without a model or a call_id; set model: in the graph")
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_headers(
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Handshake headers: ``headers`` as given, else ``Authorization: Bearer <key>``.

    The key is ``api_key`` or ``$OPENAI_API_KEY``. Any ``OpenAI-Beta`` header is dropped.

    :raises ConnectError: if no headers were given and no key can be found.
    """
    if headers is not None:
        return {name: value for name, value in headers.items() if name.lower() != "openai-beta"}
    env = os.environ if environ is None else environ
    key = api_key or env.get("OPENAI_API_KEY")
    if not key:
        raise ConnectError(_MISSING_KEY)
    return {"Authorization": f"Bearer {key}"}


def user_agent() -> str:
    """``rtgraph/<version>``."""
    from .. import __version__

    return f"rtgraph/{__version__}"
