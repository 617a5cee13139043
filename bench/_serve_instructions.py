"""Instructions per audio delta on the serve path (deterministic): ``bench_serve.py --instructions``.

The server of one variant runs under valgrind's callgrind while one browser (by default) streams
through it at real-time pace (one 100 ms delta and one 100 ms microphone frame per ``period``, so
every frame is its own event-loop wake-up even under valgrind's slowdown). Two stream lengths; the
difference in the server's executed instructions divided by the extra deltas is the cost of one
delta end to end (upstream audio delta + transcript delta in, binary audio + transcript frame
out, one microphone frame relayed upstream), with imports, connects and setup cancelled out.
CPU time on a shared machine drifts by tens of percent; this count varies by about 2 % (how often
frames that arrive together are read in one wake-up still depends on timing).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import bench_serve as bs

__all__ = ("per_delta_instructions",)


def _server_argv(variant: str, upstream: str, folder: str) -> tuple[list[str], dict[str, str], str]:
    if variant == "ours":
        return ([sys.executable, "-m", "realtime_graph", "serve", folder, "--transport", "openai", "--url", upstream,
                 "--port", "0", "--no-reload", "--max-sessions", "100000"],
                {"OPENAI_API_KEY": "x", "PYTHONPATH": os.pathsep.join(filter(None, [bs.HERE, os.environ.get(
                    "PYTHONPATH")]))}, "rtgraph: serving ")
    return [sys.executable, os.path.join(bs.HERE, "_serve_relays.py"), variant, upstream], {}, "ws://"


def _instructions(variant: str, folder: str, sessions: int, deltas: int, period: float) -> int:
    upstream_argv = [sys.executable, os.path.join(bs.HERE, "_serve_upstream.py"), str(deltas), str(period)]
    with bs.process(upstream_argv, marker="ws://") as (_, upstream):
        argv, env, marker = _server_argv(variant, upstream, folder)
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **env}, cwd=bs.ROOT)
        assert proc.stdout is not None
        lines: list[str] = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if marker in line and not line.startswith("=="):
                    break
            else:
                raise SystemExit(f"{variant} under callgrind exited early:\n{''.join(lines)[-3000:]}")
            url = lines[-1].strip().rsplit(" ", 1)[-1]
            if variant == "ours":
                url = url.replace("http://", "ws://") + "browser/session"
            asyncio.run(_drive(variant, url, sessions, deltas, period))
            # ours drains on SIGTERM; the relays end on SIGINT (KeyboardInterrupt): both exit cleanly
            proc.send_signal(signal.SIGTERM if variant == "ours" else signal.SIGINT)
            rest, _ = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    match = re.search(r"Collected : (\d+)", rest)
    if match is None:
        raise SystemExit(f"{variant} under callgrind failed:\n{rest[-3000:]}")
    return int(match.group(1))


async def _drive(variant: str, url: str, sessions: int, deltas: int, period: float) -> None:
    stop = asyncio.Event()
    arrivals: list[list[float]] = [[] for _ in range(sessions)]
    tasks = [asyncio.ensure_future(bs.browser(variant, url, deltas, arrivals[i], stop, period))
             for i in range(sessions)]
    _, late = await asyncio.wait(tasks, timeout=deltas * period * 3 + 120)
    stop.set()
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    short = [len(a) for a in arrivals if len(a) < deltas]
    if short:
        raise SystemExit(f"{variant}: {len(short)} browsers got fewer than {deltas} deltas under callgrind: {short}")


def per_delta_instructions(variant: str, folder: str, *, sessions: int = 1, small: int = 50, large: int = 150,
                           period: float = 0.1) -> float:
    """Server instructions per 100 ms audio delta (one session's delta, its transcript, one mic frame)."""
    counts = [_instructions(variant, folder, sessions, n, period) for n in (small, large)]
    return (counts[1] - counts[0]) / (sessions * (large - small))
