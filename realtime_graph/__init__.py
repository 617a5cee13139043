"""realtime-graph: declarative YAML agent graphs for the OpenAI Realtime API.

Load a definition folder into an immutable :class:`Graph`, run it as a live :class:`Session`
over a :class:`Transport`, and hot-reload it while calls are live. Names are imported lazily so
``rtgraph --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "ConfigError": "realtime_graph.errors",
    "ConnectError": "realtime_graph.errors",
    "ConnectionLost": "realtime_graph.errors",
    "EntrypointError": "realtime_graph.errors",
    "Issue": "realtime_graph.errors",
    "RealtimeGraphError": "realtime_graph.errors",
    "SessionError": "realtime_graph.errors",
    "Severity": "realtime_graph.errors",
    "TemplateRenderError": "realtime_graph.errors",
    "TransportError": "realtime_graph.errors",
    # graph model
    "Agent": "realtime_graph.graph.model",
    "CallContext": "realtime_graph.graph.model",
    "Graph": "realtime_graph.graph.model",
    "GuardrailResult": "realtime_graph.graph.model",
    "ToolErrorInfo": "realtime_graph.graph.model",
    # loading
    "ValidationReport": "realtime_graph.config",
    "load": "realtime_graph.config",
    "load_dict": "realtime_graph.config",
    "load_string": "realtime_graph.config",
    "render_issues": "realtime_graph.config",
    "validate": "realtime_graph.config",
    # runtime
    "PlaybackTracker": "realtime_graph.runtime.playback",
    "Runner": "realtime_graph.runtime.runner",
    "Session": "realtime_graph.runtime.session",
    "SessionEvent": "realtime_graph.runtime.events",
    # transports and test doubles
    "OpenAITransport": "realtime_graph.transports.openai",
    "ScriptedTransport": "realtime_graph.transports.scripted",
    "Simulator": "realtime_graph.transports.simulator",
    "SimulatorTransport": "realtime_graph.transports.simulator",
    "Step": "realtime_graph.transports.scripted",
    "Transport": "realtime_graph.transports.base",
}

__all__ = sorted(_EXPORTS, key=str.casefold)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .config import ValidationReport, load, load_dict, load_string, render_issues, validate
    from .errors import (
        ConfigError,
        ConnectError,
        ConnectionLost,
        EntrypointError,
        Issue,
        RealtimeGraphError,
        SessionError,
        Severity,
        TemplateRenderError,
        TransportError,
    )
    from .graph.model import Agent, CallContext, Graph, GuardrailResult, ToolErrorInfo
    from .runtime.events import SessionEvent
    from .runtime.playback import PlaybackTracker
    from .runtime.runner import Runner
    from .runtime.session import Session
    from .transports.base import Transport
    from .transports.openai import OpenAITransport
    from .transports.scripted import ScriptedTransport, Step
    from .transports.simulator import Simulator, SimulatorTransport
