"""``rtgraph serve``: the graph as a voice service (HTTP probes, metrics, browser console, drain).

Above the runtime and reload layers; the CLI wraps it. Imports are lazy so that ``rtgraph run``
(which shares :mod:`.transport_choice`) never loads Starlette, uvicorn or prometheus-client.
See docs/serve.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .access import token_subprotocol
    from .serve_host import ServeHost
    from .serve_options import ServeConfigError, ServeOptions, resolve_options
    from .session_registry import LiveSession, SessionRegistry

__all__ = ("LiveSession", "ServeConfigError", "ServeHost", "ServeOptions", "SessionRegistry", "resolve_options",
           "token_subprotocol")

__getattr__, __dir__ = lazy_exports(__name__, {
    "LiveSession": "realtime_graph.serve.session_registry",
    "ServeConfigError": "realtime_graph.serve.serve_options",
    "ServeHost": "realtime_graph.serve.serve_host",
    "ServeOptions": "realtime_graph.serve.serve_options",
    "SessionRegistry": "realtime_graph.serve.session_registry",
    "resolve_options": "realtime_graph.serve.serve_options",
    "token_subprotocol": "realtime_graph.serve.access",
}, globals())
