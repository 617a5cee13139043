"""The simulated calls shared by the fake Calls REST API and the simulator's sideband WebSocket.

One :class:`CallBook` per simulated "OpenAI project": the Calls API fake
(``realtime_graph.telephony.fakes.FakeCallsApi``) registers pending calls and records
accept/reject/refer/hangup in it; a :class:`~realtime_graph.transports.simulator.Simulator`
given the same book (``Simulator(calls=book)``) lets ``?call_id=`` attach only to an accepted,
live call (else HTTP 404 ``call_id_not_found`` at the handshake, like the API), starts that
session with the accepted configuration, and closes the sideband (1000) when the call is hung up.
Plain data and synchronous callbacks: both servers run on one event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ("CallBook", "CallRecord")

CallState = Literal["pending", "accepted", "rejected", "ended"]


@dataclass(slots=True)
class CallRecord:
    """A call the book knows; ``state`` follows the API: pending → accepted/rejected → ended."""

    call_id: str
    sip_headers: list[dict[str, str]] = field(default_factory=list)
    state: CallState = "pending"
    session: dict[str, Any] | None = None
    """The accepted configuration (the accept request body)."""
    reject_status: int | None = None
    referred_to: list[str] = field(default_factory=list)
    hung_up: bool = False
    attached: int = 0
    """Sideband connections opened so far."""
    _watchers: list[Callable[[], None]] = field(default_factory=list, repr=False)


class CallBook:
    """Pending and live simulated calls by ``call_id``."""

    def __init__(self) -> None:
        self.calls: dict[str, CallRecord] = {}

    def add(self, call_id: str | None = None, sip_headers: Sequence[tuple[str, str]] = ()) -> str:
        """Register a pending SIP call (as if an INVITE arrived); returns its ``rtc_…`` id."""
        cid = call_id or f"rtc_{secrets.token_hex(16)}"
        self.calls[cid] = CallRecord(cid, [{"name": n, "value": v} for n, v in sip_headers])
        return cid

    def get(self, call_id: str) -> CallRecord | None:
        return self.calls.get(call_id)

    def attachable(self, call_id: str) -> CallRecord | None:
        """The call a sideband ``?call_id=`` may attach to: accepted and not ended."""
        record = self.calls.get(call_id)
        return record if record is not None and record.state == "accepted" else None

    def accept(self, record: CallRecord, session: dict[str, Any]) -> None:
        record.state, record.session = "accepted", session

    def end(self, record: CallRecord, *, hangup: bool = True) -> None:
        """The call is over: its sideband connections are closed."""
        record.state = "ended"
        record.hung_up = record.hung_up or hangup
        watchers, record._watchers = record._watchers, []
        for notify in watchers:
            notify()

    def watch(self, record: CallRecord, notify: Callable[[], None]) -> Callable[[], None]:
        """Call ``notify`` once when the call ends; returns a function that stops watching."""
        record._watchers.append(notify)
        record.attached += 1

        def unwatch() -> None:
            if notify in record._watchers:
                record._watchers.remove(notify)

        return unwatch
