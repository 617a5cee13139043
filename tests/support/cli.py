"""Drivers for the real ``rtgraph run`` in a subprocess: plain, with a live stdin pipe, under a
pseudo-terminal, and against a scripted simulator served from this process."""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "agents.d"
COMMAND = [sys.executable, "-m", "realtime_graph", "run"]


def rtgraph(*args: str | os.PathLike[str], stdin: str | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *map(str, args)], input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def version_of(folder: Path) -> str:
    from realtime_graph.config import load

    return load(folder).version


@contextmanager
def served(script: str | None, *, realtime_factor: float = 0.0, faults: tuple[Any, ...] = ()) -> Iterator[dict[str, str]]:
    """A simulator playing ``script`` (YAML text; None: the default script) on loopback, misbehaving
    with ``faults`` (simulator/faults.py); yields the options and environment that point
    ``rtgraph run`` at it (``rtgraph run`` itself has no script option)."""
    from anyio.from_thread import start_blocking_portal

    from realtime_graph.transports.simulator import parse_script
    from realtime_graph.transports.simulator.faults import FaultySimulator

    simulator = FaultySimulator(faults=faults, script=parse_script(script) if script is not None else None,
                                realtime_factor=realtime_factor)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(simulator.serve()) as url:
        yield {"url": url, "OPENAI_API_KEY": "sk-test"}


def openai_args(server: dict[str, str]) -> list[str]:
    return ["--transport", "openai", "--url", server["url"]]


class Running:
    """``rtgraph run`` with stdin kept open: feed lines and wait for output lines as they come."""

    def __init__(self, *args: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen([*COMMAND, *map(str, args)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def read_until(self, wanted: str, timeout: float = 10) -> list[str]:
        """Lines read up to and including ``wanted`` (an exact line)."""
        start = len(self.lines)
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"exited before {wanted!r}; output: {self.lines}"
            self.lines.append(line)
            if line == wanted:
                return self.lines[start:]

    def finish(self, timeout: float = 10) -> tuple[int, str]:
        """Close stdin (end of input); the exit code and stderr."""
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code, self.process.stderr.read()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:  # the test failed early: do not leave the child running
            self.process.kill()
            self.process.wait()
        self._pump_thread.join(timeout=10)  # it reads stdout to the end, then stdout can close
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()


class Terminal:
    """``rtgraph run`` with a pseudo-terminal on stdin/stdout, as a user at a prompt has."""

    def __init__(self, *args: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
        import pty

        environ = {**os.environ, **(env or {})}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the real CLI with a terminal on stdin/stdout
            os.execve(sys.executable, [*COMMAND, *map(str, args)], environ)
        self.output = b""
        self.exit_code: int | None = None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.exit_code is None:  # the test failed early: do not leave the child running
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.fd)

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def _read(self, deadline: float) -> bool:
        """Read what is available before ``deadline``; False once the child closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no output in time; so far: {self.text}"
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child exited
            return False
        self.output += chunk
        return bool(chunk)

    def read_until(self, text: bytes, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self._read(deadline), f"exited before {text!r}: {self.text}"

    def wait(self, timeout: float = 10) -> int:
        """Exit code, once every byte of output has been read (fails if the run does not end)."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace").replace("\r\n", "\n")
