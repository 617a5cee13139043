"""Real ``rtgraph serve`` servers for tests: uvicorn on a free loopback port, never a stand-in.

Three ways, one shape (each yields a :class:`BaseURL`, e.g. ``"http://127.0.0.1:41234/"``):

- :func:`serving` — an async context manager for anyio tests: the server runs in a task group of
  the calling task and is shut down (sessions closed with ``closing``/1001) when the block exits::

      async with serving(graph_or_folder) as url:
          async with websockets.connect(url.ws, subprotocols=["rtgraph.v1"]) as ws: ...

- :func:`serving_in_thread` — the same server in a background event loop thread (anyio blocking
  portal), for synchronous code such as Playwright's sync API, which cannot run inside a loop::

      with serving_in_thread(EXAMPLE) as url:
          page.goto(url)

- :func:`browser` / :class:`BrowserClient` — a protocol-v1 client over the real ``websockets``
  client (what the console does, minus the page): ``async with browser(url) as b: await b.until("session")``.

- :class:`ServeProcess` — ``python -m realtime_graph serve`` as a real subprocess (signals, drain,
  exit codes, log lines); ``.url`` is parsed from its first output line.

``graph`` is a loaded :class:`~realtime_graph.graph.model.Graph` or a definition folder (loaded
with the real loader; a folder also enables hot reload when ``reload=True``). ``transport``
defaults to the simulator at ``sim_speed`` (0 = as fast as possible). Keyword arguments are the
fields of :class:`realtime_graph.serve.ServeOptions` (``max_sessions``, ``drain_timeout``,
``token``, ``allowed_origins``, ``host``, ...); ``port`` is always 0 (a free port).
"""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from realtime_graph.graph.model import Graph
from realtime_graph.transports.base import Transport

__all__ = ("EXAMPLE", "BaseURL", "BrowserClient", "ServeProcess", "browser", "serving", "serving_in_thread")

EXAMPLE = Path(__file__).resolve().parents[2] / "agents.d"
"""The example definition folder of the repository."""


class BaseURL(str):
    """The server's base URL (``http://127.0.0.1:PORT/``), plus handy derived URLs.

    ``server`` is the in-process :class:`realtime_graph.serve.ServeHost` (None for a subprocess);
    ``log`` is what the server logged so far (in-process: one line per session start/end, reloads).
    """

    server: Any
    log: io.StringIO

    @property
    def ws(self) -> str:
        """The browser session WebSocket URL (``ws://127.0.0.1:PORT/browser/session``)."""
        return "ws" + self[len("http"):] + "browser/session"

    def path(self, path: str) -> str:
        """An absolute URL for ``path`` (``url.path("/readyz")``)."""
        return self + path.lstrip("/")


def _make(url: str, server: Any, log: io.StringIO) -> BaseURL:
    out = BaseURL(url)
    out.server, out.log = server, log
    return out


def _host(graph: Graph | str | os.PathLike[str], transport: Transport | None, sim_speed: float,
          reload: bool, log: io.StringIO, options: dict[str, Any]) -> Any:
    from realtime_graph.config import load
    from realtime_graph.serve import ServeHost, ServeOptions
    from realtime_graph.transports import Simulator, SimulatorTransport

    path = None
    if not isinstance(graph, Graph):
        path = Path(graph)
        graph = load(path)
    transport = transport or SimulatorTransport(Simulator(realtime_factor=sim_speed))
    settings = ServeOptions(port=0, reload=reload and path is not None, **options)
    return ServeHost(graph, transport=transport, options=settings, path=path, log_stream=log)


@asynccontextmanager
async def serving(graph: Graph | str | os.PathLike[str], *, transport: Transport | None = None,
                  sim_speed: float = 0.0, reload: bool = False, **options: Any) -> AsyncIterator[BaseURL]:
    """Serve ``graph`` on a free loopback port inside the calling task; yields the base URL."""
    import anyio

    log = io.StringIO()
    host = _host(graph, transport, sim_speed, reload, log, options)
    async with anyio.create_task_group() as tg:
        url = await tg.start(host.run)
        try:
            yield _make(url, host, log)
        finally:
            host.shutdown()


@contextmanager
def serving_in_thread(graph: Graph | str | os.PathLike[str], *, transport: Transport | None = None,
                      sim_speed: float = 0.0, reload: bool = False, **options: Any) -> Iterator[BaseURL]:
    """:func:`serving` on an event loop in a background thread, for synchronous callers."""
    from anyio.from_thread import start_blocking_portal

    log = io.StringIO()
    host = _host(graph, transport, sim_speed, reload, log, options)
    with start_blocking_portal() as portal:
        future, url = portal.start_task(host.run)
        try:
            yield _make(url, host, log)
        finally:
            portal.call(host.shutdown)
            future.result(timeout=30)


class ServeProcess:
    """``rtgraph serve ARGS...`` as a subprocess (``--port 0`` is added unless given).

    Lines of stdout and stderr are collected by reader threads; :meth:`wait_for` waits for one.
    Use as a context manager: on exit the process is killed if it still runs.
    """

    def __init__(self, *args: str | os.PathLike[str], env: dict[str, str] | None = None,
                 cwd: str | os.PathLike[str] | None = None, startup_timeout: float = 20.0) -> None:
        argv = [sys.executable, "-m", "realtime_graph", "serve", *map(str, args)]
        if "--port" not in argv:
            argv += ["--port", "0"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                                        cwd=cwd)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self._passed: list[str] = []  # lines an earlier wait_for read past: stdout and stderr race
        self._threads = [threading.Thread(target=self._pump, args=(name, stream), daemon=True)
                         for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))]
        for thread in self._threads:
            thread.start()
        try:
            first = self.wait_for("rtgraph: serving ", timeout=startup_timeout)
        except BaseException:
            self.__exit__()
            raise
        self.first_line = first
        self.url = _make(first.rsplit(" on ", 1)[1].strip(), None, io.StringIO())

    def _pump(self, name: str, stream: Any) -> None:
        for line in stream:
            (self.stdout if name == "stdout" else self.stderr).append(line.rstrip("\n"))
            self._lines.put((name, line.rstrip("\n")))
        self._lines.put((name, ""))

    def wait_for(self, fragment: str, *, timeout: float = 10.0) -> str:
        """The first output line (stdout or stderr) containing ``fragment`` that no earlier call
        returned. Lines an earlier call read past are searched first: the two pipes are read by
        two threads, so a stderr line may be queued before the stdout line printed ahead of it."""
        for i, line in enumerate(self._passed):
            if fragment in line:
                return self._passed.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line with {fragment!r}; stdout={self.stdout} stderr={self.stderr}")
            try:
                _, line = self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                if self.process.poll() is not None and self._lines.empty():
                    time.sleep(0.1)
                    if self._lines.empty():
                        raise TimeoutError(f"process exited {self.process.returncode} before {fragment!r}; "
                                           f"stdout={self.stdout} stderr={self.stderr}") from None
                continue
            if fragment in line:
                return line
            self._passed.append(line)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        for thread in self._threads:  # they end at EOF, so every line is collected
            thread.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class BrowserClient:
    """A browser-protocol v1 client: JSON messages are kept in :attr:`seen` (in order); binary
    audio frames are added to :attr:`audio` under the item the last ``audio`` message announced."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.audio: dict[str, bytearray] = {}
        self._item: str | None = None
        self._returned: set[int] = set()

    async def send(self, kind: str, **fields: Any) -> None:
        import json

        await self.ws.send(json.dumps({"type": kind, **fields}))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def _receive(self) -> dict[str, Any]:
        import json

        while True:
            frame = await self.ws.recv()
            if isinstance(frame, bytes):
                self.audio.setdefault(self._item or "", bytearray()).extend(frame)
                continue
            message: dict[str, Any] = json.loads(frame)
            if message.get("type") == "audio":
                self._item = message["item_id"]
            self.seen.append(message)
            return message

    async def until(self, kind: str, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        """The first message of type ``kind`` (with the given field values) that ``until`` has not
        returned before, waiting for it if it has not arrived yet."""
        import anyio

        with anyio.fail_after(timeout):
            while True:
                for index, message in enumerate(self.seen):
                    if (index not in self._returned and message.get("type") == kind
                            and all(message.get(k) == v for k, v in match.items())):
                        self._returned.add(index)
                        return message
                await self._receive()

    def types(self, *, skip: tuple[str, ...] = ("transcript", "audio")) -> list[str]:
        """Types of every message seen so far, leaving out the chatty ones."""
        return [m["type"] for m in self.seen if m["type"] not in skip]


@asynccontextmanager
async def browser(url: str, *, token: str | None = None, origin: str | None = None, agent: str | None = None,
                  subprotocols: list[str] | None = None) -> AsyncIterator[BrowserClient]:
    """Open ``/browser/session`` of the server at base ``url`` like the console does."""
    from websockets.asyncio.client import connect

    from realtime_graph.serve import token_subprotocol

    ws_url = "ws" + url[len("http"):].rstrip("/") + "/browser/session" + (f"?agent={agent}" if agent else "")
    offers = subprotocols if subprotocols is not None else ["rtgraph.v1"]
    if token is not None:
        offers = [*offers, token_subprotocol(token)]
    async with connect(ws_url, subprotocols=offers or None, origin=origin, open_timeout=10,  # type: ignore[arg-type]
                       max_size=None) as ws:
        yield BrowserClient(ws)
