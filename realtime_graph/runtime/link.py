"""The session's send side across reconnects: one stable :class:`Link` over changing connections.

Every helper sends through the :class:`~.seam.Seam`, which sends through the link. While the
link is up, events go straight to the current connection (unacknowledged item creates are
remembered, see :class:`~.reconnect_policy.PendingItems`). While it is down (between a drop and
the end of the replay) events are held, in order, and sent after the replay; so a tool that
finishes mid-reconnect never loses its output. Input audio held meanwhile is bounded
(:data:`MAX_HELD_AUDIO`); beyond it, audio is dropped and counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..errors import ConnectionLost, TransportError
from ..transports.base import ClientEvent, Connection, ServerEvent
from .reconnect_policy import PendingItems

__all__ = ("MAX_HELD_AUDIO", "Link")

MAX_HELD_AUDIO = 2**20
"""Base64 characters of input audio held while reconnecting (about 16 s of 24 kHz PCM16)."""

_AUDIO = "input_audio_buffer.append"
_CREATE = "conversation.item.create"


class Link(Connection):
    """Sends to the current connection, or holds events while a reconnect is under way."""

    __slots__ = ("_audio", "_held", "current", "dropped_audio", "failure", "pending", "reconnects", "up")

    def __init__(self, connection: Connection, *, reconnects: bool) -> None:
        self.current = connection
        self.reconnects = reconnects
        self.up = True
        self.failure: TransportError | None = None
        self.pending = PendingItems()
        self.dropped_audio = 0
        self._held: list[ClientEvent] = []
        self._audio = 0

    async def send(self, event: ClientEvent) -> None:
        if not self.up:
            if self.failure is None:
                self._hold(event)
            # else: the session is over (its failure is raised from the iterator; the public API
            # refuses with SessionError): a tool finishing now has nowhere to send to.
            return
        if self.reconnects and event.get("type") == _CREATE:
            self.pending.sent(event)
        try:
            await self.current.send(event)
        except ConnectionLost:
            if not self.reconnects:
                raise
            # The reader sees the drop too and reconnects; an item create stays pending (resent).
            self.up = False

    def _hold(self, event: ClientEvent) -> None:
        if event.get("type") == _AUDIO:
            size = len(event.get("audio") or "")
            if self._audio + size > MAX_HELD_AUDIO:
                self.dropped_audio += 1
                return
            self._audio += size
        self._held.append(event)

    def down(self) -> None:
        """Hold every event from now on (a reconnect is starting)."""
        self.up = False

    def fail(self, failure: TransportError) -> None:
        """The session is over: held and later events are dropped."""
        self.failure = failure
        self.up = False
        self._held.clear()

    def drop_held(self, kind: str) -> None:
        """Forget held events of type ``kind`` (the reconnect decides about responses itself)."""
        self._held = [e for e in self._held if e.get("type") != kind]

    async def bring_up(self, connection: Connection, *, replayed_calls: frozenset[str],
                       replayed_items: frozenset[str]) -> list[ClientEvent]:
        """Switch to ``connection`` and send every held event on it, in order (events held while
        this runs are sent too), then go up. Tool outputs the replay already carried
        (``replayed_calls``) are not sent twice, nor truncates of replayed items (the replay
        carries what was heard). Returns the events sent.

        :raises ConnectionLost: the new connection failed meanwhile (the rest stays held).
        """
        if self.failure is not None:
            return []
        self.current = connection
        sent: list[ClientEvent] = []
        while self._held:
            event = self._held[0]
            item = event.get("item")
            duplicate = (isinstance(item, dict) and item.get("type") == "function_call_output"
                         and item.get("call_id") in replayed_calls) or (
                event.get("type") == "conversation.item.truncate" and event.get("item_id") in replayed_items)
            if not duplicate:
                await connection.send(event)
                self.pending.sent(event)
                sent.append(event)
            del self._held[0]
            if event.get("type") == _AUDIO:
                self._audio -= len(event.get("audio") or "")
        self.up = True
        return sent

    def __aiter__(self) -> AsyncIterator[ServerEvent]:
        return self.current.__aiter__()

    async def aclose(self) -> None:
        await self.current.aclose()

    @property
    def close_code(self) -> int | None:
        return self.current.close_code
