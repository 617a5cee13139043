"""Tool safety: BaseExceptions contained, abandoned sync threads never hold the process, the loop
watchdog names a blocking ``async`` tool, the output cap, strict JSON (docs/runtime.md "Tool safety")."""

from __future__ import annotations

import math
import re
import sys
import threading
import time
from dataclasses import dataclass

import anyio
import pytest

from realtime_graph.graph.model import Hooks, RunSettings
from realtime_graph.runtime import Runner
from realtime_graph.runtime.loop_watchdog import LoopWatchdog, blocked_message
from realtime_graph.runtime.tool_output import cap_text, model_text, serialise_output, strict_json, well_formed
from realtime_graph.runtime.tools import run_in_daemon_thread
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import agent, entry, events_until, function_call, graph, tool

pytestmark = pytest.mark.anyio


# -- pure: what the model sees --------------------------------------------------------------

def test_non_finite_floats_become_null_and_the_json_is_strict() -> None:
    value = {"mean": math.nan, "hi": math.inf, "lo": -math.inf, "ok": 1.5, "rows": [math.nan, (2.0, math.inf)]}
    assert strict_json(value) == '{"mean": null, "hi": null, "lo": null, "ok": 1.5, "rows": [null, [2.0, null]]}'
    assert serialise_output(math.nan) == "null"
    assert serialise_output({"t": 1.0}) == '{"t": 1.0}'  # finite values untouched


def test_serialisation_keeps_strings_dataclasses_and_unknown_objects() -> None:
    @dataclass
    class Reading:
        city: str
        temp: float

    assert serialise_output("NaN as text stays text") == "NaN as text stays text"
    assert serialise_output(Reading("Oslo", math.nan)) == '{"city": "Oslo", "temp": null}'
    assert serialise_output({"when": threading}) == '{"when": "' + str(threading).replace("\\", "\\\\") + '"}'
    assert serialise_output({"é": "ü"}) == '{"é": "ü"}'


def test_a_cycle_is_still_an_error_not_a_hang() -> None:
    looped: list[object] = [math.nan]
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference detected"):
        strict_json(looped)


def test_the_cap_cuts_with_a_note_the_model_sees() -> None:
    assert cap_text("abcdef", 6) == "abcdef"
    assert cap_text("x" * 12_345, 10) == ("xxxxxxxxxx\n[Output truncated: the tool returned 12,345 characters; "
                                          "only the first 10 are shown.]")


def test_lone_surrogates_become_replacement_characters_and_pairs_their_character() -> None:
    assert well_formed("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert well_formed("\ud83d\ude00") == "\U0001f600"
    assert well_formed("plain") == "plain"
    assert model_text("\ud800" + "y" * 20, 3) == ("\ufffdyy\n[Output truncated: the tool returned 21 characters; "
                                                  "only the first 3 are shown.]")


def test_the_watchdog_message_names_the_code_and_the_setting() -> None:
    assert blocked_message("tool 'lookup'", 5.06, 0.5) == (
        "tool 'lookup' blocked the event loop for 5.1s (run.tools.loop_lag_threshold is 0.5s); every "
        "session in this process stalled meanwhile. Await instead of blocking, or make it a plain def: "
        "sync code runs in a worker thread.")


# -- the watchdog on its own --------------------------------------------------------------------

async def test_the_watchdog_times_each_step_and_reports_only_long_ones() -> None:
    reports: list[tuple[str, dict]] = []
    watchdog = LoopWatchdog(lambda: 0.2, lambda message, extra: reports.append((message, dict(extra))))

    async def work() -> str:
        await anyio.sleep(0.4)  # awaiting is not blocking: no report
        time.sleep(0.25)  # the blocking call under test
        await anyio.sleep(0)
        return "done"

    assert await watchdog.watch(work(), "tool 'work'", {"tool": "work"}) == "done"
    assert len(reports) == 1
    message, extra = reports[0]
    assert message.startswith("tool 'work' blocked the event loop for 0.")
    assert extra["kind"] == "loop_blocked" and extra["tool"] == "work" and 0.25 <= extra["blocked_seconds"] < 1


async def test_the_watchdog_passes_exceptions_and_cancellation_through() -> None:
    watchdog = LoopWatchdog(lambda: 0, lambda message, extra: None)  # 0: reporting off

    async def fails() -> None:
        await anyio.sleep(0)
        raise KeyError("k")

    with pytest.raises(KeyError):
        await watchdog.watch(fails(), "x", {})
    finished = False

    async def forever() -> None:
        nonlocal finished
        try:
            await anyio.sleep(10)
        finally:
            finished = True

    with anyio.move_on_after(0.05) as scope:
        await watchdog.watch(forever(), "x", {})
    assert scope.cancelled_caught and finished


# -- daemon threads -----------------------------------------------------------------------------

async def test_sync_code_runs_in_a_daemon_thread_with_the_callers_context_variables() -> None:
    seen: dict[str, object] = {}

    def work() -> int:
        seen["daemon"] = threading.current_thread().daemon
        seen["main"] = threading.current_thread() is threading.main_thread()
        return 42

    assert await run_in_daemon_thread(work) == 42
    assert seen == {"daemon": True, "main": False}
    with pytest.raises(ZeroDivisionError):
        await run_in_daemon_thread(lambda: 1 / 0)


async def test_a_cancelled_sync_call_is_abandoned_at_once() -> None:
    release = threading.Event()
    started = time.monotonic()
    with anyio.move_on_after(0.05):
        await run_in_daemon_thread(lambda: release.wait(5))
    assert time.monotonic() - started < 1
    release.set()


# -- in a session ---------------------------------------------------------------------------------

def _outputs(transport: ScriptedTransport) -> dict[str, str]:
    return {e["item"]["call_id"]: e["item"]["output"] for e in transport.sent
            if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"}


async def _run_calls(g, *calls: tuple[str, str], timeout: float = 5.0):
    """Push one function call per (call_id, tool); collect events until every tool_end."""
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(*(function_call("r1", call_id, name) for call_id, name in calls))
        ended: set[str] = set()
        got = await events_until(session, lambda e: e.type == "tool_end" and ended.add(e.call_id) is None
                                 and len(ended) == len(calls), timeout=timeout)
        await session.send_message("still here?")  # the session is still open and usable
    return transport, got


async def test_base_exceptions_from_tools_are_contained_like_exceptions() -> None:
    def exits() -> str:
        sys.exit(7)

    def exits_quietly() -> str:
        sys.exit()

    async def interrupted() -> str:
        raise KeyboardInterrupt

    def generator_exit() -> str:
        raise GeneratorExit("odd")

    g = graph(agent(tools=[tool(exits), tool(exits_quietly), tool(interrupted), tool(generator_exit)]))
    transport, got = await _run_calls(g, ("c1", "exits"), ("c2", "exits_quietly"), ("c3", "interrupted"),
                                      ("c4", "generator_exit"))
    assert _outputs(transport) == {
        "c1": "An error occurred while running the tool 'exits': SystemExit: 7",
        "c2": "An error occurred while running the tool 'exits_quietly': SystemExit",
        "c3": "An error occurred while running the tool 'interrupted': KeyboardInterrupt",
        "c4": "An error occurred while running the tool 'generator_exit': GeneratorExit: odd",
    }
    errors = sorted((e.error["call_id"], e.error["kind"]) for e in got if e.type == "error")
    assert errors == [("c1", "exception"), ("c2", "exception"), ("c3", "exception"), ("c4", "exception")]
    assert transport.sent[-1]["type"] == "conversation.item.create"  # the session went on: send_message
    assert transport.sent[-1]["item"]["content"][0]["text"] == "still here?"


async def test_hooks_and_approval_checks_contain_base_exceptions_too() -> None:
    def hook(event) -> None:
        raise SystemExit(3)

    async def check(arguments, context) -> bool:
        raise KeyboardInterrupt

    def fine() -> str:
        return "ok"

    g = graph(agent(tools=[tool(fine, needs_approval=entry(check))]), hooks=Hooks(on_tool_start=entry(hook)))
    transport = ScriptedTransport(strict=False)
    async with Runner(g, transport=transport).run() as session:
        transport.push(function_call("r1", "c1", "fine"))
        asked = await events_until(session, lambda e: e.type == "tool_approval_required")
        await session.approve_tool_call("c1")
        ran = await events_until(session, lambda e: e.type == "tool_end")
    assert [e.error["message"] for e in asked + ran if e.type == "error"] == [
        "needs_approval check for tool 'fine' failed (KeyboardInterrupt); asking for approval",
        f"hook on_tool_start ({entry(hook).ref}) failed: SystemExit: 3",
    ]
    assert _outputs(transport) == {"c1": "ok"}


async def test_a_tool_raising_cancelled_error_by_itself_is_an_ordinary_failure() -> None:
    async def odd() -> str:
        raise anyio.get_cancelled_exc_class()()

    transport, _ = await _run_calls(graph(agent(tools=[tool(odd)])), ("c1", "odd"))
    assert _outputs(transport) == {"c1": "An error occurred while running the tool 'odd': CancelledError"}


async def test_a_blocking_async_tool_is_named_by_the_watchdog_and_its_timeout_applies() -> None:
    async def blocking() -> str:
        time.sleep(0.4)  # the blocking call under test
        return "late"

    async def polite() -> str:
        await anyio.sleep(0.4)
        return "fine"

    g = graph(agent(tools=[tool(blocking, timeout=0.2), tool(polite)]),
              run=RunSettings(tool_loop_lag_threshold=0.3))
    transport, got = await _run_calls(g, ("c1", "blocking"), ("c2", "polite"))
    assert _outputs(transport) == {"c1": "Tool 'blocking' timed out after 0.2 seconds.", "c2": "fine"}
    errors = [e.error for e in got if e.type == "error"]
    assert [(e["kind"], e["tool"], e["call_id"]) for e in errors] == [("loop_blocked", "blocking", "c1"),
                                                                      ("timeout", "blocking", "c1")]
    assert re.fullmatch(r"tool 'blocking' blocked the event loop for 0\.\ds \(run\.tools\.loop_lag_threshold is "
                        r"0\.3s\); every session .*", errors[0]["message"])
    assert 0.4 <= errors[0]["blocked_seconds"] < 1


async def test_the_watchdog_can_be_turned_off() -> None:
    async def blocking() -> str:
        time.sleep(0.1)  # the blocking call under test
        return "ok"

    g = graph(agent(tools=[tool(blocking)]), run=RunSettings(tool_loop_lag_threshold=0.0))
    transport, got = await _run_calls(g, ("c1", "blocking"))
    assert _outputs(transport) == {"c1": "ok"} and [e for e in got if e.type == "error"] == []


async def test_outputs_are_capped_strict_and_the_raw_value_stays_in_tool_end() -> None:
    def huge() -> str:
        return "z" * 250

    def stats() -> dict:
        return {"mean": math.nan}

    g = graph(agent(tools=[tool(huge), tool(stats)]), run=RunSettings(tool_max_output_chars=100))
    transport, got = await _run_calls(g, ("c1", "huge"), ("c2", "stats"))
    assert _outputs(transport) == {
        "c1": "z" * 100 + "\n[Output truncated: the tool returned 250 characters; only the first 100 are shown.]",
        "c2": '{"mean": null}',
    }
    ends = {e.call_id: e for e in got if e.type == "tool_end"}
    assert ends["c1"].output == "z" * 250 and math.isnan(ends["c2"].output["mean"])
    assert ends["c2"].to_dict()["output"] == {"mean": None}  # --events json is strict JSON too


async def test_a_timed_out_sync_tool_is_abandoned_and_the_session_closes_promptly() -> None:
    release = threading.Event()

    def stuck() -> str:
        release.wait(30)
        return "never seen"

    started = time.monotonic()
    transport, _ = await _run_calls(graph(agent(tools=[tool(stuck, timeout=0.1)])), ("c1", "stuck"))
    assert time.monotonic() - started < 3
    assert _outputs(transport) == {"c1": "Tool 'stuck' timed out after 0.1 seconds."}
    release.set()
