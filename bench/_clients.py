"""Benchmark clients, one variant per process run: ``python _clients.py VARIANT SCENARIO URL [N]``.

Variants: ``floor`` (bare websockets client: json.loads + base64 decode per event), ``sdk``
(OpenAI Agents SDK RealtimeSession), ``ours`` (realtime_graph Session). Prints one JSON object.
CPU is ``time.process_time()`` around connect + consumption only (imports excluded).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- floor -----------------------------------------------------------------------------------

def floor_prepare(url: str, latencies: list[float] | None):  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect

    return lambda: floor_stream(connect, url, latencies)


async def floor_stream(connect, url: str, latencies: list[float] | None) -> int:  # type: ignore[no-untyped-def]
    count = 0
    async with connect(url, additional_headers={"Authorization": "Bearer x"}, max_size=None) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        async for raw in ws:
            event = json.loads(raw)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                count += 1
                if latencies is not None:
                    latencies.append(time.monotonic() - event["_ts"])
    return count


# ---- the OpenAI Agents SDK -------------------------------------------------------------------

def sdk_runner(handoff: bool = False):  # type: ignore[no-untyped-def]
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    @function_tool
    def ping() -> str:
        """Reply pong."""
        return "pong"

    other = RealtimeAgent(name="other", instructions="Other agent.")
    agent = RealtimeAgent(name="bench", instructions="Benchmark agent.", tools=[ping],
                          handoffs=[other] if handoff else [])
    if handoff:
        other.handoffs = [agent]  # ping-pong, so every call is a handoff
    return RealtimeRunner(agent)


def sdk_prepare(url: str, latencies: list[float] | None):  # type: ignore[no-untyped-def]
    runner = sdk_runner(handoff="handoff" in sys.argv)
    return lambda: sdk_consume(runner, url, latencies)


async def sdk_consume(runner, url: str, latencies: list[float] | None) -> int:  # type: ignore[no-untyped-def]
    session = await runner.run(model_config={"url": url, "api_key": "x"})
    async with session:
        # the SDK wraps each server dict in a raw_server_event model event
        return await count_audio(session, latencies,
                                 lambda data: data.data if data.type == "raw_server_event" else None)


async def count_audio(session, latencies: list[float] | None, server_event) -> int:  # type: ignore[no-untyped-def]
    """Consume a session (SDK or ours): count audio events and, when ``latencies`` is given,
    record server-send -> client-event latency of the paced audio deltas."""
    if sys.argv[2] in ("tool", "handoff"):
        await session.send_message("go")
    count = 0
    async for event in session:
        if event.type == "audio":
            count += 1
        elif latencies is not None and event.type == "raw_model_event":
            data = server_event(event.data)
            if data is not None and data.get("type") == "response.output_audio.delta" and "_ts" in data:
                latencies.append(time.monotonic() - data["_ts"])
    return count


# ---- realtime_graph --------------------------------------------------------------------------

def our_graph(handoff: bool = False):  # type: ignore[no-untyped-def]
    from realtime_graph.config import load_string

    # the same tools as sdk_runner: ping always, the ping-pong handoffs only in handoff runs
    handoffs = ("handoffs: [other]", "handoffs: [bench]") if handoff else ("", "")
    text = f"""
kind: graph
start: bench
---
kind: agent
name: bench
instructions: Benchmark agent.
tools:
  - entrypoint: "bench_tools:ping"
{handoffs[0]}
---
kind: agent
name: other
instructions: Other agent.
{handoffs[1]}
"""
    sys.path.insert(0, os.path.dirname(__file__))
    return load_string(text, filename="bench.yaml")


def ours_prepare(url: str, latencies: list[float] | None):  # type: ignore[no-untyped-def]
    from realtime_graph.runtime import Runner
    from realtime_graph.transports import OpenAITransport

    graph = our_graph(handoff="handoff" in sys.argv)
    runner = Runner(graph, transport=OpenAITransport(url=url, api_key="x"),
                    raw_events=latencies is not None or "raw" in sys.argv)
    import websockets.asyncio.client  # noqa: F401  (the transport imports it lazily)
    return lambda: ours_consume(runner, latencies)


async def ours_consume(runner, latencies: list[float] | None) -> int:  # type: ignore[no-untyped-def]
    async with runner.run() as session:
        return await count_audio(session, latencies, lambda data: data)


async def idle_sessions(variant: str, url: str, n: int) -> dict[str, float]:
    """Open n sessions on one event loop and report RSS growth per session."""
    import contextlib

    async with contextlib.AsyncExitStack() as stack:
        if variant == "ours":
            from realtime_graph.runtime import Runner
            from realtime_graph.transports import OpenAITransport

            runner = Runner(our_graph(), transport=OpenAITransport(url=url, api_key="x"))
            make = lambda: runner.run()  # noqa: E731
        else:
            async def make_sdk():  # type: ignore[no-untyped-def]
                # one runner per session: an SDK runner owns a single model connection
                return await sdk_runner().run(model_config={"url": url, "api_key": "x"})
        # one warm-up session so one-time costs (imports, caches) are not counted per session
        first = make() if variant == "ours" else await make_sdk()
        await stack.enter_async_context(first)
        await asyncio.sleep(0.2)
        before = rss_kib()
        for _ in range(n):
            session = make() if variant == "ours" else await make_sdk()
            await stack.enter_async_context(session)
        await asyncio.sleep(0.5)
        after = rss_kib()
        return {"kib_per_session": (after - before) / n}


def main() -> None:
    variant, scenario, url = sys.argv[1], sys.argv[2], sys.argv[3]
    if variant == "ours+raw":
        variant = "ours"
        sys.argv.append("raw")
    latencies: list[float] | None = [] if scenario == "paced" else None
    if scenario == "idle":
        print(json.dumps(asyncio.run(idle_sessions(variant, url, int(sys.argv[4])))))
        return
    prepare = {"floor": floor_prepare, "sdk": sdk_prepare, "ours": ours_prepare}[variant]
    consume = prepare(url, latencies)
    t0 = time.process_time()
    count = asyncio.run(consume())
    cpu = time.process_time() - t0
    result: dict[str, object] = {"cpu_s": cpu, "audio_events": count}
    if latencies:
        result["latencies"] = latencies
    print(json.dumps(result))


if __name__ == "__main__":
    main()
