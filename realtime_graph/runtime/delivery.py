"""Pure decisions about turn boundaries: delivery accounting for ``wait_idle``, idleness, safe point.

The reader runs ahead of whoever iterates the session, so "idle" for a caller also means "every
event emitted up to idleness was handed to the iterator". :class:`Delivery` counts both sides;
the session's I/O shell waits on an event when :meth:`Delivery.wait_for` says so.
"""

from __future__ import annotations

__all__ = ("Delivery", "is_idle", "is_safe_point")


class Delivery:
    """Events emitted vs delivered, and the furthest count a ``wait_idle`` caller waits for."""

    __slots__ = ("delivered", "emitted", "target")

    def __init__(self) -> None:
        self.emitted = 0
        self.delivered = 0
        self.target = 0

    def wait_for(self, iterating: bool) -> bool:
        """A caller became idle: must it wait for delivery? (Raises the shared target if so.)"""
        if not iterating or self.delivered >= self.emitted:
            return False
        self.target = max(self.target, self.emitted)
        return True

    def reached(self) -> bool:
        """Every event up to the target was delivered."""
        return self.delivered >= self.target


def is_idle(*, response_busy: bool, tools_busy: bool, checks_pending: bool) -> bool:
    """No response in progress, requested or awaiting its guardrails' verdicts; no tool running
    or parked for approval."""
    return not (response_busy or tools_busy or checks_pending)


def is_safe_point(*, response_busy: bool, tools_running: int, checks_pending: bool) -> bool:
    """A hot-reloaded graph may be applied: no response (or its verdicts) and no tool running.
    A tool parked for approval does not block it: the call keeps the tool it was parked with."""
    return not response_busy and tools_running == 0 and not checks_pending
