"""``response.create`` sequencing (pure state machine, like the SDK's).

Only one response may write to the conversation at a time; a second ``response.create`` fails
with ``conversation_already_has_active_response``. So a create is never sent while a response is
active or a previous create is unanswered; requests made meanwhile coalesce into one create sent
when the slot frees (``response.done``, or an ``error`` blaming the pending create).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..transports import protocol

__all__ = ("ResponseSlot",)


class ResponseSlot:
    """Tracks the active response and the pending/wanted ``response.create``."""

    __slots__ = ("_counter", "_wanted", "active", "pending")

    def __init__(self) -> None:
        self.active: str | None = None
        """Id of the response in progress (between ``response.created`` and ``response.done``)."""
        self.pending: str | None = None
        """``event_id`` of a sent ``response.create`` not yet answered."""
        self._wanted: dict[str, Any] | None = None
        self._counter = 0

    @property
    def busy(self) -> bool:
        return self.active is not None or self.pending is not None or self._wanted is not None

    def request(self, event: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Ask for a response. Returns the event to send now, or None when it was queued."""
        wanted = dict(event) if event is not None else protocol.response_create()
        if self.active is not None or self.pending is not None:
            # Coalesce: a later explicit body (a raw create with overrides) wins over a plain one.
            if self._wanted is None or len(wanted) > 1:
                self._wanted = wanted
            return None
        return self._stamp(wanted)

    def _stamp(self, event: dict[str, Any]) -> dict[str, Any]:
        self._counter += 1
        event.setdefault("event_id", f"rtg_response_create_{self._counter}")
        self.pending = event["event_id"]
        self._wanted = None
        return event

    def _release(self) -> dict[str, Any] | None:
        if self.active is None and self.pending is None and self._wanted is not None:
            return self._stamp(self._wanted)
        return None

    def on_created(self, response_id: str) -> None:
        self.active = response_id
        self.pending = None

    def on_done(self, response_id: str | None) -> dict[str, Any] | None:
        """A response ended. Returns a queued create to send now, if any."""
        if response_id is None or response_id == self.active:
            self.active = None
        return self._release()

    def abandon(self) -> dict[str, Any] | None:
        """Give up on the response in flight (a response timeout): free the slot. Returns a
        queued create to send now, if any."""
        self.active = None
        self.pending = None
        return self._release()

    def reset(self) -> None:
        """Forget every response and request (the connection they lived on is gone)."""
        self.active = None
        self.pending = None
        self._wanted = None

    def on_error(self, error: Mapping[str, Any]) -> dict[str, Any] | None:
        """A server ``error``: if it blames the pending create, free the slot (and maybe resend)."""
        if self.pending is None:
            return None
        blamed = error.get("event_id")
        message = str(error.get("message") or "")
        if blamed == self.pending or (blamed is None and "response.create" in message):
            self.pending = None
            return self._release()
        return None
