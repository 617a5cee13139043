"""Tool safety end to end (real WebSocket, the simulator): ``run.tools`` settings from YAML, the loop
watchdog naming the blocking tool in its own session only, strict capped outputs on the wire."""

from __future__ import annotations

import re

import anyio
import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import simulator, until_ends

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CODE = """
import math
import time

async def blocking_lookup() -> str:
    time.sleep(0.5)  # a sync call inside async def: holds the event loop
    return "found"

def stats() -> dict:
    return {"mean": math.nan, "max": math.inf, "n": 0}

def dump() -> str:
    return "0123456789" * 10
"""

GRAPH = """
kind: graph
start: assistant
run:
  tools: {max_output_chars: 40, loop_lag_threshold: 300ms}
---
kind: agent
name: assistant
instructions: You are helpful.
tools:
  - {entrypoint: "{mod}:blocking_lookup"}
  - {entrypoint: "{mod}:stats"}
  - {entrypoint: "{mod}:dump"}
"""


def _outputs(sim) -> list[str]:
    return [e["item"]["output"] for e in sim.received_of("conversation.item.create")
            if e["item"]["type"] == "function_call_output"]


async def test_the_blocking_tool_is_named_in_its_session_and_the_other_session_only_waits(load_graph) -> None:
    graph, _ = load_graph(GRAPH, CODE)
    assert (graph.run.tool_max_output_chars, graph.run.tool_loop_lag_threshold) == (40, 0.3)
    transport_a, sim_a = simulator()
    transport_b, sim_b = simulator()
    seen: dict[str, list] = {}

    async def converse(name: str, transport, text: str, turns: int) -> None:
        async with Runner(graph, transport=transport).run() as session:
            await session.send_message(text)
            seen[name] = await until_ends(session, turns)
            await session.wait_idle()

    async with anyio.create_task_group() as tg:
        tg.start_soon(converse, "a", transport_a, "blocking lookup please", 2)
        tg.start_soon(converse, "b", transport_b, "hello there", 1)

    errors_a = [e.error for e in seen["a"] if e.type == "error"]
    assert [(e["kind"], e["tool"]) for e in errors_a] == [("loop_blocked", "blocking_lookup")]
    assert re.fullmatch(r"tool 'blocking_lookup' blocked the event loop for 0\.[5-9]s \(run\.tools\."
                        r"loop_lag_threshold is 0\.3s\); every session in this process stalled meanwhile\. "
                        r"Await instead of blocking, or make it a plain def: sync code runs in a worker thread\.",
                        errors_a[0]["message"])
    assert [e for e in seen["b"] if e.type == "error"] == []
    assert _outputs(sim_a) == ["found"]  # no timeout set: the late result is used
    assert _outputs(sim_b) == []


async def test_non_finite_numbers_and_long_outputs_reach_the_wire_strict_and_capped(load_graph) -> None:
    graph, _ = load_graph(GRAPH, CODE)
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("stats please")
        await until_ends(session, 2)
        await session.send_message("dump please")
        await until_ends(session, 2)
        await session.wait_idle()
    assert _outputs(sim) == [
        '{"mean": null, "max": null, "n": 0}',
        "0123456789012345678901234567890123456789\n[Output truncated: the tool returned 100 characters; "
        "only the first 40 are shown.]",
    ]
