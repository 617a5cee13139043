"""Transports: how a session reaches a Realtime server.

- :class:`OpenAITransport` — the OpenAI (or Azure) GA WebSocket.
- :class:`Simulator` / :class:`SimulatorTransport` — a local GA-protocol server on loopback that
  plays the model's side deterministically (default rules, YAML scripts, cassette replay).
- :class:`ScriptedTransport` — an in-process double for unit tests of sessions.

Names are imported lazily so importing this package does not import ``websockets``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if not TYPE_CHECKING:  # type checkers read the imports below; an unknown name stays an error for them
    __all__, __getattr__, __dir__ = lazy_exports(__name__, __file__, globals())

if TYPE_CHECKING:  # the one list of public names (see realtime_graph/_lazy.py)
    from .base import Connection as Connection
    from .base import ConnectRequest as ConnectRequest
    from .base import Transport as Transport
    from .openai import OpenAITransport as OpenAITransport
    from .recording import RecordingTransport as RecordingTransport
    from .scripted import CLOSE as CLOSE
    from .scripted import ScriptedTransport as ScriptedTransport
    from .scripted import Step as Step
    from .scripted import UnconsumedSteps as UnconsumedSteps
    from .scripted import UnexpectedSend as UnexpectedSend
    from .simulator import Simulator as Simulator
    from .simulator import SimulatorScript as SimulatorScript
    from .simulator import SimulatorTransport as SimulatorTransport
