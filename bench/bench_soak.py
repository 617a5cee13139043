"""Soak: many concurrent sessions on the simulator for minutes, with random drops and hot reloads.

``--sessions`` slots (default 50) each run session after session until ``--minutes`` (default 10)
are over. A session is a handful of typed turns, some of which call a tool, with a pause between
them. Every session goes through the real ``OpenAITransport`` to one simulator served on loopback.
The server drops a share of its connections (``--drop-rate``, default 0.3) at a random point: after
``response.done``, mid-audio, mid tool call, right after ``response.created`` or an item, with a
recoverable close code (1001, 1011, 1012, 1013) or a ``session_expired`` error. Every
``--reload-every`` seconds each live session gets a hot-reloaded graph (new instructions), and
``max_session_age`` is short (4 s), so sessions roll over too.

Reported: sessions completed and failed (with the first failure messages), turns, reconnects by
reason, drops injected, graph updates applied, **lost turns** (a user turn with no assistant reply
after it in the final history; must be 0), **lost tool outputs** (a function call without its
output; must be 0), hung turns (no idle within 30 s), and RSS growth per completed session after
warm-up (``/proc/self/statm``, after ``gc.collect()``), and whether closed sessions stay referenced;
``--trace-memory`` adds the Python heap growth per session (tracemalloc), which separates a
real leak from allocator fragmentation.

Run: ``python bench/bench_soak.py [--sessions 50] [--minutes 10] [--drop-rate 0.3] [--seed 1]``.
A short run: ``python bench/bench_soak.py --sessions 10 --minutes 1``. No asserts; the exit status
is 1 when a turn or a tool output was lost or a session failed.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import sys
import tempfile
import textwrap
import time
import tracemalloc
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from realtime_graph.config import load_string
from realtime_graph.graph.model import Graph
from realtime_graph.runtime import Runner, Session
from realtime_graph.runtime.history import MessageItem, ToolCallItem
from realtime_graph.transports import OpenAITransport, Simulator
from realtime_graph.transports.simulator.faults import Drop, FaultyEngine, fault_budget
from realtime_graph.transports.simulator.server import EngineLike

TOOLS = """
def lookup(city: str) -> str:
    \"\"\"Look up the weather in a city.\"\"\"
    return f"sunny in {city}"
"""

GRAPH = """
kind: graph
start: assistant
run:
  timeouts: {{response: 3s}}
  reconnect: {{backoff_initial: 50ms, backoff_max: 1s, max_attempts: 8, max_session_age: 4s}}
---
kind: agent
name: assistant
instructions: You are a helpful assistant (revision {revision}).
tools:
  - {{entrypoint: "soak_tools:lookup"}}
"""

EXPIRED = {"type": "invalid_request_error", "code": "session_expired",
           "message": "Your session hit the maximum duration of 60 minutes."}
DROP_POINTS = (("response.done", 1), ("response.output_audio.delta", 2), ("response.output_item.done", 1),
               ("response.created", 1), ("conversation.item.added", 2), ("response.function_call_arguments.done", 1))
CODES = ((1001, "going away"), (1011, "internal server error"), (1012, "service restart"),
         (1013, "try again later"))


class SoakSimulator(Simulator):
    """Drops a share of its connections at a random point."""

    def __init__(self, rng: random.Random, drop_rate: float) -> None:
        super().__init__()
        self.rng = rng
        self.drop_rate = drop_rate
        self.connections = 0
        self.armed: list[tuple[str, dict[int, int]]] = []

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        self.connections += 1
        inner = super().engine(model, call_id)
        if self.rng.random() >= self.drop_rate:
            return inner
        after, count = self.rng.choice(DROP_POINTS)
        count = self.rng.randint(1, count + 2)
        if self.rng.random() < 0.15:
            fault = Drop(after=after, count=count, code=1000, reason="", error=EXPIRED)
        else:
            code, reason = self.rng.choice(CODES)
            fault = Drop(after=after, count=count, code=code, reason=reason)
        budget = fault_budget([fault])
        self.armed.append((f"close {fault.code}" if fault.error is None else "session_expired", budget))
        return FaultyEngine(inner, [fault], budget)

    def fired(self) -> Counter[str]:
        """Drops that happened (an armed drop whose event count was never reached did not)."""
        return Counter(kind for kind, budget in self.armed if budget[0] == 0)


@dataclass
class Stats:
    started: int = 0
    completed: int = 0
    failed: int = 0
    turns: int = 0
    lost_turns: int = 0
    lost_tool_outputs: int = 0
    hung_turns: int = 0
    graph_updates: int = 0
    reconnects: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    warm_rss: int | None = None
    warm_completed: int = 0


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def check(history: list[Any], sent: list[str], stats: Stats) -> None:
    """Every sent turn has an assistant reply after it; every tool call has its output."""
    before = (stats.lost_turns, stats.lost_tool_outputs)
    _check(history, sent, stats)
    if (stats.lost_turns, stats.lost_tool_outputs) != before and len(stats.failures) < 5:
        shown = [(getattr(i, "role", i.type), i.status, getattr(i, "content", None) or getattr(i, "output", None))
                 for i in history]
        stats.failures.append(f"lost in history {shown}")


def _check(history: list[Any], sent: list[str], stats: Stats) -> None:
    for index, item in enumerate(history):
        if isinstance(item, ToolCallItem) and item.output is None:
            stats.lost_tool_outputs += 1
        if isinstance(item, MessageItem) and item.role == "user":
            later = history[index + 1:]
            reply = next((i for i in later if isinstance(i, MessageItem)), None)
            if reply is None or reply.role != "assistant" or not any(
                    (p.get("transcript") or p.get("text")) for p in reply.content):
                stats.lost_turns += 1
    texts = [p.get("text") for i in history if isinstance(i, MessageItem) and i.role == "user" for p in i.content]
    stats.lost_turns += sum(1 for text in sent if text not in texts)


async def consume(session: Session, stats: Stats, problems: list[str]) -> None:
    try:
        async for event in session:
            if event.type == "reconnected":
                stats.reconnects[event.reason.split(" (")[0]] += 1  # type: ignore[attr-defined]
            elif event.type == "graph_updated":
                stats.graph_updates += 1
    except Exception as exc:  # the session failed: reported by the turn loop too
        problems.append(f"{type(exc).__name__}: {exc}")


async def one_session(runner: Runner, stats: Stats, rng: random.Random, number: int) -> None:
    stats.started += 1
    sent: list[str] = []
    problems: list[str] = []
    try:
        async with runner.run() as session, anyio.create_task_group() as tg:
            tg.start_soon(consume, session, stats, problems)
            for turn in range(rng.randint(4, 10)):
                text = (f"session {number} turn {turn}: lookup the weather in Paris" if rng.random() < 0.3
                        else f"session {number} turn {turn}: tell me something")
                await session.send_message(text)
                sent.append(text)
                try:
                    with anyio.fail_after(30):
                        await session.wait_idle()
                except TimeoutError:
                    stats.hung_turns += 1
                    raise
                stats.turns += 1
                await anyio.sleep(rng.uniform(0.1, 1.0))
            tg.cancel_scope.cancel()
        check(session.history, sent, stats)
        stats.completed += 1
    except Exception as exc:
        stats.failed += 1
        if len(stats.failures) < 5:
            stats.failures.append(f"{type(exc).__name__}: {exc} {problems[:1]}")


async def slot(runner: Runner, stats: Stats, rng: random.Random, deadline: float, counter: list[int]) -> None:
    while time.monotonic() < deadline:
        counter[0] += 1
        await one_session(runner, stats, rng, counter[0])


async def reloads(graphs: list[Graph], runners: list[Runner], every: float, deadline: float,
                  live: set[Session]) -> None:
    revision = 0
    while time.monotonic() < deadline:
        await anyio.sleep(every)
        revision += 1
        graph = graphs[revision % len(graphs)]
        runners[0].graph = graph  # new sessions start on it too
        for session in list(live):
            try:
                session.update_graph(graph)
            except Exception:  # a session that just closed
                continue


class TrackingRunner(Runner):
    """Knows its live sessions (for the reloads)."""

    def __init__(self, *args: Any, live: set[Session], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live = live
        self.ever: weakref.WeakSet[Session] = weakref.WeakSet()

    def run(self, **kwargs: Any) -> Session:
        session = super().run(**kwargs)
        live = self.live
        self.ever.add(session)

        class Tracked:
            async def __aenter__(self) -> Session:
                entered = await session.__aenter__()
                live.add(session)
                return entered

            async def __aexit__(self, *exc: Any) -> Any:
                live.discard(session)
                return await session.__aexit__(*exc)

        return Tracked()  # type: ignore[return-value]


async def soak(sessions: int, minutes: float, drop_rate: float, reload_every: float, seed: int,
               trace_memory: bool = False) -> int:
    folder = Path(tempfile.mkdtemp())
    (folder / "soak_tools.py").write_text(textwrap.dedent(TOOLS), encoding="utf-8")
    sys.path.insert(0, str(folder))
    graphs = [load_string(GRAPH.format(revision=r)) for r in range(3)]
    rng = random.Random(seed)
    simulator = SoakSimulator(random.Random(seed + 1), drop_rate)
    stats = Stats()
    live: set[Session] = set()
    started = time.monotonic()
    deadline = started + minutes * 60
    async with simulator.serve() as url:
        runner = TrackingRunner(graphs[0], transport=OpenAITransport(url=url, api_key="soak"), raw_events=False,
                                live=live)
        counter = [0]
        async with anyio.create_task_group() as tg:
            tg.start_soon(reloads, graphs, [runner], reload_every, deadline, live)
            for _ in range(sessions):
                tg.start_soon(slot, runner, stats, random.Random(rng.random()), deadline, counter)

            async def warm() -> None:
                while stats.completed < max(1, sessions // 2):
                    await anyio.sleep(0.5)
                gc.collect()
                stats.warm_rss, stats.warm_completed = rss_bytes(), stats.completed
                if trace_memory:
                    tracemalloc.start()

            tg.start_soon(warm)
    elapsed = time.monotonic() - started
    gc.collect()
    end_rss = rss_bytes()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
    grown = stats.completed - stats.warm_completed
    per_session = (end_rss - stats.warm_rss) / grown if stats.warm_rss is not None and grown > 0 else float("nan")
    print(f"soak: {sessions} concurrent sessions for {elapsed:.0f} s, drop rate {drop_rate}, seed {seed}")
    print(f"  sessions completed      {stats.completed} (failed {stats.failed}, started {stats.started})")
    print(f"  turns answered          {stats.turns}")
    fired = simulator.fired()
    print(f"  connections / drops     {simulator.connections} / {sum(fired.values())} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(fired.items()))})")
    print(f"  reconnects              {sum(stats.reconnects.values())} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(stats.reconnects.items()))})")
    print(f"  graph updates applied   {stats.graph_updates}")
    print(f"  lost turns              {stats.lost_turns}  (must be 0)")
    print(f"  lost tool outputs       {stats.lost_tool_outputs}  (must be 0)")
    print(f"  hung turns              {stats.hung_turns}")
    print(f"  sessions still in memory after they closed: {len(runner.ever)}")
    print(f"  RSS                     {end_rss / 2**20:.1f} MiB at the end; "
          f"growth per session after warm-up {per_session / 1024:.1f} KiB over {grown} sessions")
    if traced is not None and grown > 0:
        print(f"  Python heap growth      {traced / grown / 1024:.1f} KiB per session after warm-up (tracemalloc)")
    for failure in stats.failures:
        print(f"  failure: {failure}")
    return 1 if stats.lost_turns or stats.lost_tool_outputs or stats.failed or stats.hung_turns else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drop-rate", type=float, default=0.3, help="share of connections the server drops")
    parser.add_argument("--reload-every", type=float, default=5.0, help="seconds between hot reloads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-memory", action="store_true",
                        help="also measure Python heap growth with tracemalloc (slower)")
    args = parser.parse_args()
    # A session that ends while reconnecting abandons a half-open handshake; the server would log it.
    logging.getLogger("websockets.server").setLevel(logging.CRITICAL)
    sys.exit(anyio.run(soak, args.sessions, args.minutes, args.drop_rate, args.reload_every, args.seed,
                       args.trace_memory))


if __name__ == "__main__":
    main()
