"""realtime-graph: declarative YAML agent graphs for the OpenAI Realtime API.

Load a definition folder into an immutable :class:`Graph`, run it as a live :class:`Session`
over a :class:`Transport`, and hot-reload it while calls are live. Names are imported lazily so
``rtgraph --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

if not TYPE_CHECKING:  # type checkers read the imports below; an unknown name stays an error for them
    __all__, __getattr__, __dir__ = lazy_exports(__name__, __file__, globals())

if TYPE_CHECKING:  # the one list of public names (see _lazy.py)
    from .config import ValidationReport as ValidationReport
    from .config import load as load
    from .config import load_dict as load_dict
    from .config import load_string as load_string
    from .config import render_issues as render_issues
    from .config import validate as validate
    from .errors import ConfigError as ConfigError
    from .errors import ConnectError as ConnectError
    from .errors import ConnectionLost as ConnectionLost
    from .errors import EntrypointError as EntrypointError
    from .errors import Issue as Issue
    from .errors import RealtimeGraphError as RealtimeGraphError
    from .errors import SessionError as SessionError
    from .errors import Severity as Severity
    from .errors import TemplateRenderError as TemplateRenderError
    from .errors import TransportError as TransportError
    from .graph.model import Agent as Agent
    from .graph.model import CallContext as CallContext
    from .graph.model import Graph as Graph
    from .graph.model import GuardrailResult as GuardrailResult
    from .graph.model import ToolErrorInfo as ToolErrorInfo
    from .runtime.events import SessionEvent as SessionEvent
    from .runtime.playback import PlaybackTracker as PlaybackTracker
    from .runtime.runner import Runner as Runner
    from .runtime.session import Session as Session
    from .transports.base import Transport as Transport
    from .transports.openai import OpenAITransport as OpenAITransport
    from .transports.scripted import ScriptedTransport as ScriptedTransport
    from .transports.scripted import Step as Step
    from .transports.simulator import Simulator as Simulator
    from .transports.simulator import SimulatorTransport as SimulatorTransport
