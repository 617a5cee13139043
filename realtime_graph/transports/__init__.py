"""Transports: how a session reaches a Realtime server.

- :class:`OpenAITransport` — the OpenAI (or Azure) GA WebSocket.
- :class:`Simulator` / :class:`SimulatorTransport` — a local GA-protocol server on loopback that
  plays the model's side deterministically (default rules, YAML scripts, cassette replay).
- :class:`ScriptedTransport` — an in-process double for unit tests of sessions.

Names are imported lazily so importing this package does not import ``websockets``.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "ConnectRequest": "realtime_graph.transports.base",
    "Connection": "realtime_graph.transports.base",
    "Transport": "realtime_graph.transports.base",
    "OpenAITransport": "realtime_graph.transports.openai",
    "ScriptedTransport": "realtime_graph.transports.scripted",
    "Step": "realtime_graph.transports.scripted",
    "CLOSE": "realtime_graph.transports.scripted",
    "UnexpectedSend": "realtime_graph.transports.scripted",
    "UnconsumedSteps": "realtime_graph.transports.scripted",
    "RecordingTransport": "realtime_graph.transports.recording",
    "Simulator": "realtime_graph.transports.simulator",
    "SimulatorScript": "realtime_graph.transports.simulator",
    "SimulatorTransport": "realtime_graph.transports.simulator",
}


__all__ = tuple(sorted(_EXPORTS, key=str.casefold))

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
