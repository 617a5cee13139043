"""``rtgraph serve``: the graph as a voice service (HTTP probes, metrics, browser console, drain).

Above the runtime and reload layers; the CLI wraps it. Imports are lazy so that ``rtgraph run``
(which shares :mod:`.transport_choice`) never loads Starlette, uvicorn or prometheus-client.
See docs/serve.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if not TYPE_CHECKING:  # the one list of public names is the block below (see realtime_graph/_lazy.py)
    __all__, __getattr__, __dir__ = lazy_exports(__name__, __file__, globals())

if TYPE_CHECKING:
    from .access import token_subprotocol as token_subprotocol
    from .serve_host import ServeHost as ServeHost
    from .serve_options import ServeConfigError as ServeConfigError
    from .serve_options import ServeOptions as ServeOptions
    from .serve_options import resolve_options as resolve_options
    from .session_registry import LiveSession as LiveSession
    from .session_registry import SessionRegistry as SessionRegistry
