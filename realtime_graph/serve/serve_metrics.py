"""The server's Prometheus metrics, in a registry of its own (one per app, so tests and several
apps in one process never share counters). Every name starts with ``rtgraph_``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ("CONTENT_TYPE", "ServeMetrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class ServeMetrics:
    """Counters, gauges and histograms of one server; :meth:`render` gives the exposition text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sessions_active = Gauge("rtgraph_sessions_active", "Live sessions.", ["channel"], registry=r)
        self.sessions_started = Counter("rtgraph_sessions_started", "Sessions started.", ["channel"], registry=r)
        self.sessions_ended = Counter("rtgraph_sessions_ended", "Sessions ended, by outcome.",
                                      ["channel", "outcome"], registry=r)
        self.sessions_refused = Counter("rtgraph_sessions_refused", "Sessions refused (capacity, draining, auth).",
                                        ["channel", "reason"], registry=r)
        self.session_duration = Histogram("rtgraph_session_duration_seconds", "Session duration.", ["channel"],
                                          buckets=_DURATION_BUCKETS, registry=r)
        self.first_audio = Histogram("rtgraph_time_to_first_audio_seconds",
                                     "End of the user's turn to the first assistant audio.", ["channel"],
                                     buckets=_LATENCY_BUCKETS, registry=r)
        self.event_lag = Histogram("rtgraph_event_lag_seconds",
                                   "Server event received by the transport to session event handled.", ["channel"],
                                   buckets=_LAG_BUCKETS, registry=r)
        self.tool_latency = Histogram("rtgraph_tool_latency_seconds", "Tool call start to output.", ["tool"],
                                      buckets=_LATENCY_BUCKETS, registry=r)
        self.tool_failures = Counter("rtgraph_tool_failures", "Tool calls that failed or timed out.", ["tool"],
                                     registry=r)
        self.barge_ins = Counter("rtgraph_barge_ins", "Assistant audio interrupted (barge-in or stop).", ["channel"],
                                 registry=r)
        self.guardrail_trips = Counter("rtgraph_guardrail_trips", "Output guardrail trips.", ["guardrail"],
                                       registry=r)
        self.reloads = Counter("rtgraph_reloads", "Hot reloads of the definitions, by result.", ["result"],
                               registry=r)
        self.transport_errors = Counter("rtgraph_transport_errors", "Realtime server errors and lost connections.",
                                        ["code"], registry=r)
        self.draining = Gauge("rtgraph_draining", "1 while the process drains after SIGTERM.", registry=r)
        self.max_sessions = Gauge("rtgraph_max_sessions", "Configured session capacity.", registry=r)

    def render(self) -> bytes:
        """Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
