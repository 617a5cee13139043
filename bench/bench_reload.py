"""Hot-reload latency: file write → graph accepted (on_graph) → session.update on the wire.

A live, idle simulator session (real loopback WebSocket) runs with a GraphReloader on a copy of
agents.d. Each round rewrites the start agent's file with new instructions and measures:

- accepted: write → ``on_graph`` called (watchfiles event + debounce + full validation pipeline)
- on wire:  write → the ``session.update`` carrying the new instructions is handed to the socket
  (observed by wrapping the transport's connection, so it is the real client event)

Run: ``python bench/bench_reload.py [--rounds 20] [--debounce-ms 50]``. Prints medians and p90
side by side; targets: accepted < 300 ms, on wire < 500 ms. No asserts.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from realtime_graph.config import load
from realtime_graph.reload import GraphReloader
from realtime_graph.runtime import Runner
from realtime_graph.transports import Simulator, SimulatorTransport
from realtime_graph.transports.base import ConnectRequest, Transport

EXAMPLE = Path(__file__).resolve().parents[1] / "agents.d"


class WireWatch(Transport):
    """Timestamps every client ``session.update`` as it leaves for the socket."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.updates: list[tuple[float, str]] = []

    @asynccontextmanager
    async def connect(self, request: ConnectRequest) -> Any:
        async with self.inner.connect(request) as connection:
            original = connection.send
            updates = self.updates

            async def send(event: dict[str, Any]) -> None:
                if event.get("type") == "session.update":
                    updates.append((time.perf_counter(), event["session"].get("instructions", "")))
                await original(event)

            connection.send = send  # type: ignore[method-assign]
            yield connection


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(rounds: int, debounce_ms: int) -> None:
    folder = Path(tempfile.mkdtemp()) / "agents.d"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    graph = load(folder)
    agent_file = folder / f"{graph.start}.yaml"
    original = agent_file.read_text()
    wire = WireWatch(SimulatorTransport(Simulator()))
    accepted_at: list[float] = []
    accepted = anyio.Event()
    box = {"accepted": accepted}

    async with Runner(graph, transport=wire).run() as session:
        def on_graph(new: Any) -> None:
            accepted_at.append(time.perf_counter())
            session.update_graph(new)
            box["accepted"].set()

        reloader = GraphReloader(folder, on_graph=on_graph, on_error=lambda e: print("error:", e),
                                 debounce_ms=debounce_ms, initial=graph)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, session)
            await tg.start(reloader.run)
            await session.wait_idle()
            to_accept: list[float] = []
            to_wire: list[float] = []
            for i in range(rounds):
                marker = f"bench round {i}"
                box["accepted"] = anyio.Event()
                written = time.perf_counter()
                agent_file.write_text(original.replace("instructions: |\n", f"instructions: |\n  {marker}.\n", 1))
                with anyio.fail_after(5):
                    await box["accepted"].wait()
                    while not any(marker in text for _, text in wire.updates):
                        await anyio.sleep(0.001)
                sent = next(t for t, text in wire.updates if marker in text)
                to_accept.append((accepted_at[-1] - written) * 1000)
                to_wire.append((sent - written) * 1000)
                await anyio.sleep(0.2)  # let the watcher settle between rounds
            tg.cancel_scope.cancel()
    print(f"hot reload, {rounds} edits, debounce {debounce_ms} ms, live idle simulator session")
    print(f"{'':24}{'median':>10}{'p90':>10}{'max':>10}   target")
    for name, values, target in (("write -> accepted", to_accept, "< 300 ms"),
                                 ("write -> session.update", to_wire, "< 500 ms")):
        print(f"{name:24}{statistics.median(values):>8.1f}ms{percentile(values, 0.9):>8.1f}ms"
              f"{max(values):>8.1f}ms   {target}")


async def _drain(session: Any) -> None:
    async for _ in session:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--debounce-ms", type=int, default=50)
    args = parser.parse_args()
    anyio.run(bench, args.rounds, args.debounce_ms)


if __name__ == "__main__":
    main()
