"""The ASGI application: fixed endpoints for probes, metrics, the console and its WebSocket.

- ``GET /healthz``  200 while the process runs.
- ``GET /readyz``   200 when a new session would be admitted; else 503 with ``{"reason": ...}``.
- ``GET /metrics``  Prometheus text from the app's own registry.
- ``WS /browser/session``  browser protocol v1 (docs/serve.md).
- ``POST|GET /twilio/voice``, ``WS /twilio/media``  the Twilio channel (docs/telephony.md).
- ``POST /openai/webhook`` SIP calls through the Realtime Calls API (``sip_channel.py``, docs/telephony.md).
- ``GET /``         the console's static files (``realtime_graph/serve/static/``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from .browser_channel import BrowserChannel
from .serve_metrics import CONTENT_TYPE, ServeMetrics
from .session_registry import SessionRegistry
from .sip_channel import WEBHOOK_PATH, SipChannel
from .twilio_channel import MEDIA_PATH, VOICE_PATH, TwilioChannel

__all__ = ("BROWSER_PATH", "STATIC_DIR", "build_app")

BROWSER_PATH = "/browser/session"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def build_app(*, registry: SessionRegistry, metrics: ServeMetrics, browser: BrowserChannel | None,
              static_dir: Path = STATIC_DIR, sip: SipChannel | None = None,
              twilio: TwilioChannel | None = None) -> Starlette:
    """The Starlette app of one server (``browser=None`` leaves the console out; ``sip``/``twilio``
    None leave those channels out)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        body: dict[str, object] = {"sessions": len(registry), "max_sessions": registry.max_sessions,
                                   "graph_version": registry.graph.version}
        if registry.last_rejection is not None:
            body["last_reload_rejected"] = registry.last_rejection
        reason = registry.not_ready()
        if reason is not None:
            return JSONResponse({"status": "not ready", "reason": reason, **body}, status_code=503)
        return JSONResponse({"status": "ready", **body})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz),
                               Route("/metrics", metrics_endpoint)]
    if sip is not None:
        routes.append(Route(WEBHOOK_PATH, sip.webhook, methods=["POST"]))
    if twilio is not None:
        routes.append(Route(VOICE_PATH, twilio.voice, methods=["GET", "POST"]))
        routes.append(WebSocketRoute(MEDIA_PATH, twilio.media))
    if browser is not None:
        channel = browser

        async def browser_session(websocket: WebSocket) -> None:
            await channel(websocket)

        routes.append(WebSocketRoute(BROWSER_PATH, browser_session))
        routes.append(Mount("/", app=StaticFiles(directory=static_dir, html=True, check_dir=False), name="console"))
    return Starlette(routes=routes)
