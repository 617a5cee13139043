"""Live sessions: :class:`Runner` turns a graph into :class:`Session` objects (see docs/runtime.md)."""

from .call_control import DEFAULT_HANGUP_DESCRIPTION, CallControl, ControlTool
from .events import *  # noqa: F403
from .events import __all__ as _event_names
from .playback import PlaybackState, PlaybackTracker
from .runner import Runner
from .session import Session

__all__ = ("DEFAULT_HANGUP_DESCRIPTION", "CallControl", "ControlTool", "PlaybackState", "PlaybackTracker", "Runner",
           "Session", *_event_names)
