"""One server process: uvicorn inside our task group, the reloader, signals and drain.

::

    ServeHost.run                      task group
    ├── uvicorn.Server.serve           on a socket we bound (so ``port=0`` reports the real port)
    ├── GraphReloader.run              one watcher per process → registry.publish_graph / _rejection
    ├── _watch_signals                 SIGTERM/SIGINT: first → drain, second → exit at once
    └── (main)                         waits for shutdown()/drain, closes sessions, stops uvicorn

uvicorn's own signal handlers are disabled: drain is ours. Drain: ``/readyz`` turns 503 and new
sessions are refused at once; live sessions finish on their own up to ``drain_timeout``, then get
``closing`` and close code 1001; then uvicorn stops and :meth:`run` returns 0. A second signal
returns 130 at once.
"""

from __future__ import annotations

import gc
import signal
import socket
import threading
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.from_thread
import anyio.lowlevel
import uvicorn
from anyio.abc import TaskStatus
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..errors import ConfigError
from ..graph.model import Graph
from ..transports.base import Transport
from .browser_channel import BrowserChannel
from .serve_app import build_app
from .serve_metrics import ServeMetrics
from .serve_options import ServeOptions
from .session_log import ServeLog
from .session_registry import SessionRegistry
from .sip_channel import SipChannel
from .twilio_channel import TwilioChannel

if TYPE_CHECKING:
    from ..reload import GraphReloader

__all__ = ("EXIT_DRAINED", "EXIT_FORCED", "ServeHost")

EXIT_DRAINED = 0
EXIT_FORCED = 130
_CLOSE_GRACE = 5  # seconds for sessions told to close to actually go


_GC_THRESHOLDS = (2000, 10, 1000)
"""gen-0 every 2,000 net allocations (CPython's default: 700), gen-1 every 10 gen-0 runs (as by
default: rarer gen-1 runs are longer pauses), a full collection every 1,000 gen-1 runs (default 10)."""


def _tune_gc() -> None:
    """Take startup objects (modules, the graph) out of the collector's view and collect the
    whole heap rarely. With CPython's defaults, 300 streaming sessions in one process paused for
    gen-2 collections of 175-333 ms and 21 gen-1 collections of up to 40 ms in 8 s, far over the
    50 ms lag budget; with this, 2 gen-1 pauses of at most 14 ms and no gen-2 (docs/deploy.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


_READ_AHEAD = 4
"""Messages a WebSocket may queue for the app before uvicorn stops reading its socket."""


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, pausing the socket only once :data:`_READ_AHEAD` messages wait.

    uvicorn pauses reading after every message and resumes when the app takes it: two
    ``epoll_ctl`` system calls and a reader re-registration per microphone frame (10 a second per
    session). The bound still holds (at most ``_READ_AHEAD`` messages of ``ws_max_size`` each).
    """

    def send_receive_event_to_app(self) -> None:
        paused = self.read_paused
        self.read_paused = True  # keeps the base class from pausing after this one message
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= _READ_AHEAD:
            self.read_paused = True
            self.transport.pause_reading()


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers, ticking once a second instead of ten times.

    uvicorn's main loop wakes every 100 ms only to notice ``should_exit`` (and to refresh the
    ``date`` header, once a second): two event-loop passes per 100 ms for the whole process.
    Here setting ``should_exit`` wakes the loop at once, so a one-second tick loses nothing.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_requested = anyio.Event()
        self._should_exit = False
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value:
            self._exit_requested.set()

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled by ServeHost (drain), not by uvicorn

    async def main_loop(self) -> None:
        counter = 0  # on_tick refreshes the date header when counter % 10 == 0: every tick here
        while not await self.on_tick(counter):
            with anyio.move_on_after(1):
                await self._exit_requested.wait()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it Nagle holds the second of two small frames for the browser's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ServeHost:
    """Serves ``graph`` over ``transport``; ``path`` (the definition folder) enables hot reload."""

    def __init__(self, graph: Graph, *, transport: Transport, options: ServeOptions, path: Path | None = None,
                 log_stream: TextIO | None = None, sideband: Transport | None = None) -> None:
        self.options = options
        self.path = path
        self.metrics = ServeMetrics()
        self.log = ServeLog(log_stream, log_format=options.log_format)
        self.registry = SessionRegistry(graph, max_sessions=options.max_sessions, metrics=self.metrics)
        self.browser = (BrowserChannel(registry=self.registry, transport=transport, options=options,
                                       metrics=self.metrics, log=self.log) if options.browser else None)
        # SIP calls attach by ?call_id= on ``sideband`` (default: the sessions' transport).
        self.sip = SipChannel(registry=self.registry, transport=sideband or transport, metrics=self.metrics,
                              log=self.log)
        self.twilio = (TwilioChannel(registry=self.registry, transport=transport, options=options,
                                     metrics=self.metrics, log=self.log) if options.twilio else None)
        self.app = build_app(registry=self.registry, metrics=self.metrics, browser=self.browser, sip=self.sip,
                             twilio=self.twilio)
        self.url: str | None = None
        self._mode: str | None = None  # "drain" | "shutdown" once asked to stop
        self._stop: anyio.Event | None = None
        self._scope: anyio.CancelScope | None = None
        self.exit_code = EXIT_DRAINED
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self._loop_thread = 0

    # -- control ----------------------------------------------------------------------------

    def drain(self) -> None:
        """Stop admitting sessions, let live ones finish up to ``drain_timeout``, then exit 0."""
        if self._mode is not None:
            return
        self._mode = "drain"
        self.registry.start_drain()
        self.log.write("draining", sessions=len(self.registry), timeout=f"{self.options.drain_timeout:g}s")
        if self._stop is not None:
            self._stop.set()

    def shutdown(self) -> None:
        """Close every session now (``closing`` ``shutdown``, 1001) and stop.

        Safe to call from another thread (a test driving a browser synchronously): the work is
        then handed to the server's event loop.
        """
        if self._token is not None and threading.get_ident() != self._loop_thread:
            anyio.from_thread.run_sync(self._shutdown, token=self._token)
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._mode == "shutdown":
            return
        self._mode = "shutdown"
        self.registry.start_drain()
        self.registry.close_all("shutdown")
        if self._stop is not None:
            self._stop.set()

    def force(self) -> None:
        """Exit at once (a second signal): sessions are cancelled without a notice."""
        self.exit_code = EXIT_FORCED
        self.log.write("exiting", "second signal: exiting without waiting for sessions")
        if self._scope is not None:
            self._scope.cancel()

    # -- running ----------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = False,
                  task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> int:
        """Serve until :meth:`shutdown`, a drain or a second signal; ``task_status`` gets the base URL.

        :raises OSError: the address cannot be bound (in use, not local).
        """
        sock = _bind(self.options.host, self.options.port)
        if handle_signals:  # serve owns the process (the CLI), so the collector is ours to tune
            _tune_gc()
        port = sock.getsockname()[1]
        shown = f"[{self.options.host.strip('[]')}]" if ":" in self.options.host else self.options.host
        url = self.url = f"http://{shown}:{port}/"
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, access_log=False,
                                ws=_WebSocketProtocol, ws_max_size=1 << 20, timeout_graceful_shutdown=_CLOSE_GRACE)
        server = _Server(config)
        self._token, self._loop_thread = anyio.lowlevel.current_token(), threading.get_ident()
        stop = self._stop = anyio.Event()
        if self._mode is not None:
            stop.set()
        served = anyio.Event()
        try:
            await self._run(server, sock, url, stop, served, handle_signals, task_status)
        finally:
            sock.close()  # uvicorn closes it on a clean stop, not when cancelled
        if self._mode == "drain" and self.exit_code == EXIT_DRAINED:
            self.log.write("drained", "all sessions ended; exiting")
        return self.exit_code

    async def _run(self, server: uvicorn.Server, sock: socket.socket, url: str, stop: anyio.Event,
                   served: anyio.Event, handle_signals: bool, task_status: TaskStatus[str]) -> None:
        with anyio.CancelScope() as scope:
            self._scope = scope
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._serve, server, sock, served)
                while not server.started and not served.is_set():
                    await anyio.sleep(0.005)
                if self.options.reload and self.path is not None:
                    await tg.start(self._reloader().run)
                if handle_signals:
                    tg.start_soon(self._watch_signals)
                await tg.start(self.sip.run)
                task_status.started(url)
                await stop.wait()
                await self._finish_sessions()
                server.should_exit = True
                await served.wait()
                tg.cancel_scope.cancel()
        if scope.cancelled_caught:
            server.force_exit = True

    async def _serve(self, server: uvicorn.Server, sock: socket.socket, served: anyio.Event) -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            served.set()

    async def _finish_sessions(self) -> None:
        if self._mode == "drain":
            with anyio.move_on_after(self.options.drain_timeout):
                await self.registry.wait_empty()
            if len(self.registry):
                self.log.write("drain timeout", sessions=len(self.registry))
                self.registry.close_all("draining")
        with anyio.move_on_after(_CLOSE_GRACE):
            await self.registry.wait_empty()

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if self._mode is None:
                    self.log.write("signal", signal=signal.Signals(signum).name)
                    self.drain()
                else:
                    self.force()

    # -- hot reload -------------------------------------------------------------------------

    def _reloader(self) -> GraphReloader:
        from ..reload import GraphReloader

        assert self.path is not None
        return GraphReloader(self.path, on_graph=self._on_graph, on_error=self._on_error,
                             initial=self.registry.graph)

    def _on_graph(self, graph: Graph) -> None:
        self.log.write("reload applied", version=graph.version, sessions=len(self.registry))
        self.registry.publish_graph(graph)

    def _on_error(self, error: ConfigError) -> None:
        from ..config import render_issues

        rendered = render_issues(error.issues, "text")
        self.log.write("reload rejected", f"edit not applied:\n{rendered}")
        self.registry.publish_rejection(rendered)
