"""The graph file's runner-side sections: ``run`` (with ``run.reconnect``), ``transport`` and
``serve``; none of it is sent to the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .references import EMPTY, Entrypoint, Secret

__all__ = ("ReconnectSettings", "RunSettings", "ServeSettings", "TransportSettings")


@dataclass(frozen=True, slots=True)
class ReconnectSettings:
    """The graph file's ``run.reconnect`` section: reconnect with conversation replay."""

    enabled: bool = True
    max_attempts: int = 5
    """Connection attempts per drop before the session ends."""
    backoff_initial: float = 0.5
    """Seconds before the first attempt; doubled per attempt (with jitter), up to ``backoff_max``."""
    backoff_max: float = 8.0
    max_session_age: float | None = 3300.0
    """Roll over to a fresh connection at the first turn boundary after this many seconds
    (before the API's 60-minute cap); None: never."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The graph file's ``run`` section (runner behaviour, not sent to the model)."""

    async_tool_calls: bool = True
    guardrail_debounce_text_length: int = 100
    guardrail_max_consecutive_trips: int = 2
    """After this many responses in a row tripped an output guardrail, stop asking the model again."""
    tool_error_formatter: Entrypoint | None = None
    tracing_disabled: bool = False
    guardrail_timeout: float = 5.0
    """Seconds an entrypoint guardrail may take; then it counts as failed (not tripped)."""
    connect_timeout: float = 10.0
    """Seconds allowed to open the connection (``run.timeouts.connect``)."""
    first_event_timeout: float = 10.0
    """Seconds allowed for the server's first event, ``session.created`` (``run.timeouts.first_event``)."""
    response_timeout: float = 30.0
    """Seconds without progress on the response in flight before it is failed (``run.timeouts.response``)."""
    instructions_timeout: float = 5.0
    """Seconds a dynamic instructions or handoff ``enabled`` entrypoint may take (``run.timeouts.instructions``)."""
    tool_max_output_chars: int = 100_000
    """A tool's output longer than this is cut, with a note the model sees (``run.tools.max_output_chars``)."""
    tool_loop_lag_threshold: float = 0.5
    """Seconds an ``async`` entrypoint may hold the event loop before an ``error`` event names it
    (``run.tools.loop_lag_threshold``; 0 turns the report off)."""
    reconnect: ReconnectSettings = field(default_factory=ReconnectSettings)


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """The graph file's ``transport`` section. Secrets only as :class:`Secret` references."""

    type: Literal["openai", "simulator"] | None = None
    url: str | None = None
    headers: Mapping[str, str | Secret] = field(default_factory=lambda: EMPTY)
    api_key: Secret | None = None
    model: str | None = None
    call_id: str | Secret | None = None
    """Attach to this SIP/WebRTC call (``?call_id=``); may be an ``${ENV}`` reference."""


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """The graph file's ``serve`` section (``rtgraph serve``); None means "not set" (flags or
    the server's defaults apply). The token only as a :class:`Secret` reference."""

    host: str | None = None
    port: int | None = None
    max_sessions: int | None = None
    drain_timeout: float | None = None
    token: Secret | None = None
    allowed_origins: tuple[str, ...] = ()
    browser: bool = True
    twilio: bool = True
    public_url: str | None = None
    """The server's public base URL (``https://voice.example.com``) when behind a proxy: Twilio
    signs the URL it called, and the media stream URL is derived from it."""
