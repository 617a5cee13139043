"""The entry point: a graph plus a transport gives sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..graph.model import Graph
from ..transports.base import Transport
from .call_control import CallControl
from .playback import PlaybackTracker
from .session import Session

__all__ = ("Runner",)


class Runner:
    """Runs ``graph`` over ``transport``; each :meth:`run` is one independent conversation.

    ``raw_events`` (default True) also yields every server event as a ``raw_model_event``, first.
    ``playback_tracker`` is used by the (single) next session when given; without it every
    session gets its own wall-clock tracker.
    """

    def __init__(self, graph: Graph, *, transport: Transport, raw_events: bool = True,
                 playback_tracker: PlaybackTracker | None = None) -> None:
        self.graph = graph
        self.transport = transport
        self.raw_events = raw_events
        self.playback_tracker = playback_tracker

    def run(self, *, context: Mapping[str, Any] | None = None, agent: str | None = None,
            call_id: str | None = None, call_control: CallControl | None = None) -> Session:
        """A new, not yet connected session: use it as ``async with runner.run() as session``.

        ``context`` overlays the graph's variables for the instructions and reaches every
        entrypoint as ``CallContext.context``; ``agent`` overrides the graph's start agent;
        ``call_id`` attaches to an existing SIP/WebRTC call instead of naming a model;
        ``call_control`` is how the built-in ``hangup``/transfer tools act on that call
        (``runtime.call_control``; without it they tell the model there is no call).

        :raises SessionError: for an unknown ``agent``.
        """
        return Session(self.graph, transport=self.transport, context=context, agent=agent,
                       call_id=call_id, raw_events=self.raw_events,
                       playback_tracker=self.playback_tracker, call_control=call_control)

    async def initial_session(self, *, context: Mapping[str, Any] | None = None, agent: str | None = None,
                              call_id: str | None = None) -> dict[str, Any]:
        """The GA ``session`` object that :meth:`run` with these arguments sends as its first
        ``session.update`` (dynamic instructions evaluated, tracing included), without connecting.

        Built by the session's own code path, so a SIP call accepted with it starts exactly as the
        sideband session expects (the SDK's ``build_initial_session_payload``).

        :raises RealtimeGraphError: an unknown agent, a missing required variable, a failing
            instructions entrypoint, duplicate tool names.
        """
        session = self.run(context=context, agent=agent, call_id=call_id)
        return await session._switch.initial()  # the very builder __aenter__ uses
