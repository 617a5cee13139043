"""An in-process transport double that plays a script of client expectations and server replies.

Public API for testing sessions built on realtime-graph without a network::

    transport = ScriptedTransport([
        Step(expect="session.update"),
        Step(expect={"type": "conversation.item.create"}),
        Step(expect="response.create", emit=[{"type": "response.created", ...}, ...]),
    ])
    async with Runner(graph, transport=transport).run() as session: ...
    assert [e["type"] for e in transport.sent] == [...]

Each client event the session sends is recorded in :attr:`ScriptedTransport.sent` and compared
with the next :class:`Step`'s ``expect``; on a match the step's ``emit`` items are delivered as
server events, in order, immediately. ``emit`` items may also be :data:`CLOSE` (the server closes
cleanly: iteration ends) or a :class:`~realtime_graph.errors.ConnectionLost` instance (the socket
drops: iteration raises it). :meth:`ScriptedTransport.push` injects server events from the test.

With ``strict=True`` (default) every sent event must match the next step, otherwise
:class:`UnexpectedSend` is raised from ``send``; leftover steps raise :class:`UnconsumedSteps`
when the connection closes (unless another exception is already propagating). With
``strict=False`` non-matching sends are only recorded.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import ConnectionLost
from .base import ClientEvent, Connection, ConnectRequest, ServerEvent, Transport

__all__ = (
    "CLOSE",
    "SESSION_CREATED",
    "ScriptError",
    "ScriptedConnection",
    "ScriptedTransport",
    "Step",
    "UnconsumedSteps",
    "UnexpectedSend",
)

Expectation = str | Mapping[str, Any] | Callable[[ClientEvent], bool]


class _Close:
    def __repr__(self) -> str:
        return "CLOSE"


CLOSE: Any = _Close()
"""Put in a step's ``emit`` (or :meth:`ScriptedTransport.push`) to close the connection cleanly."""

SESSION_CREATED: ServerEvent = {
    "type": "session.created", "event_id": "event_scripted_0",
    "session": {"type": "realtime", "object": "realtime.session", "id": "sess_scripted",
                "model": "gpt-realtime-2.1", "output_modalities": ["audio"]},
}
"""What a scripted connection emits on connect unless ``on_connect`` says otherwise."""


class ScriptError(AssertionError):
    """The session's traffic did not follow the script (a test failure, not a runtime error)."""


class UnexpectedSend(ScriptError):
    """A client event did not match the next step's expectation."""

    def __init__(self, actual: ClientEvent, expected: Expectation | None) -> None:
        self.actual = actual
        self.expected = expected
        want = "no further client event" if expected is None else f"{_describe(expected)}"
        super().__init__(f"unexpected client event {actual!r}; the script expected {want}")


class UnconsumedSteps(ScriptError):
    """The connection closed while steps were still waiting for their client event."""

    def __init__(self, remaining: Sequence[Step]) -> None:
        self.remaining = tuple(remaining)
        wanted = ", ".join(_describe(s.expect) for s in self.remaining)
        super().__init__(f"{len(self.remaining)} scripted step(s) never matched: {wanted}")


def _describe(expect: Expectation) -> str:
    if callable(expect) and not isinstance(expect, (str, Mapping)):
        return getattr(expect, "__name__", repr(expect))
    return repr(expect)


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


@dataclass(frozen=True)
class Step:
    """One scripted exchange: when a client event matches ``expect``, the server sends ``emit``.

    ``expect`` is an event type (``"response.create"``), a dict that must be a (recursive)
    subset of the event, or a predicate ``fn(event) -> bool``.
    """

    expect: Expectation
    emit: Sequence[Any] = field(default_factory=tuple)

    def matches(self, event: ClientEvent) -> bool:
        if isinstance(self.expect, str):
            return event.get("type") == self.expect
        if isinstance(self.expect, Mapping):
            return _subset(self.expect, event)
        return bool(self.expect(event))


class ScriptedConnection(Connection):
    """A connection of a :class:`ScriptedTransport`; server events come from the script."""

    def __init__(self, transport: ScriptedTransport) -> None:
        self._transport = transport
        self._send, self._receive = anyio.create_memory_object_stream[Any](math.inf)
        self._closed = False

    def deliver(self, item: Any) -> None:
        if not self._closed:  # the streams are closed only by aclose(), which sets _closed first
            self._send.send_nowait(item)

    async def send(self, event: ClientEvent) -> None:
        if self._closed:
            raise ConnectionLost("scripted connection is closed", code=1006)
        self._transport._on_send(event, self)

    async def _events(self) -> AsyncIterator[ServerEvent]:
        async for item in self._receive:
            if item is CLOSE:
                return
            if isinstance(item, ConnectionLost):
                raise item
            yield item

    def __aiter__(self) -> AsyncIterator[ServerEvent]:
        return self._events()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._send.close()
            self._receive.close()


class ScriptedTransport(Transport):
    """Plays ``steps`` against whatever the session sends. See the module docstring."""

    def __init__(self, steps: Sequence[Step] = (), *,
                 on_connect: Sequence[Any] = (SESSION_CREATED,), strict: bool = True) -> None:
        self._steps = list(steps)
        self._next = 0
        self._on_connect = tuple(on_connect)
        self.strict = strict
        self.sent: list[ClientEvent] = []
        """Every client event sent, in order, across connections."""
        self.requests: list[ConnectRequest] = []
        """Every :class:`ConnectRequest` received."""
        self._connection: ScriptedConnection | None = None

    @property
    def remaining(self) -> tuple[Step, ...]:
        """Steps not matched yet."""
        return tuple(self._steps[self._next:])

    def push(self, *items: Any) -> None:
        """Deliver server events (or :data:`CLOSE` / a ``ConnectionLost``) to the open connection."""
        if self._connection is None:
            raise RuntimeError("ScriptedTransport.push() needs an open connection")
        for item in items:
            self._connection.deliver(item)

    def _on_send(self, event: ClientEvent, connection: ScriptedConnection) -> None:
        self.sent.append(event)
        step = self._steps[self._next] if self._next < len(self._steps) else None
        if step is not None and step.matches(event):
            self._next += 1
            for item in step.emit:
                connection.deliver(item)
        elif self.strict:
            raise UnexpectedSend(event, None if step is None else step.expect)

    @asynccontextmanager
    async def _open(self, request: ConnectRequest) -> AsyncIterator[ScriptedConnection]:
        self.requests.append(request)
        connection = ScriptedConnection(self)
        self._connection = connection
        for item in self._on_connect:
            connection.deliver(item)
        try:
            yield connection
        finally:
            await connection.aclose()
        if self.strict and self.remaining:
            raise UnconsumedSteps(self.remaining)

    def connect(self, request: ConnectRequest) -> Any:
        return self._open(request)
