"""A response is done only when its output guardrails judged it; verdicts land on the response
they judged; what a guardrail may return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from realtime_graph.errors import SessionError
from realtime_graph.graph.model import Guardrail, GuardrailResult
from realtime_graph.runtime import Runner
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import (
    agent,
    audio,
    created,
    done,
    entry,
    events_until,
    graph,
    message_added,
    spoken_turn,
    transcript,
    types,
)

pytestmark = pytest.mark.anyio

QUIET = frozenset({"raw_model_event", "history_added", "history_updated"})


def kinds(events: list[Any]) -> list[str]:
    return [e.type for e in events if e.type not in QUIET]


def held_guardrail() -> tuple[Guardrail, anyio.Event, list[str]]:
    """A guardrail that judges only when the test releases it; trips on "banana"."""
    release = anyio.Event()
    seen: list[str] = []

    async def no_fruit(text: str, context: object) -> bool:
        seen.append(text)
        await release.wait()
        return "banana" in text

    return Guardrail("no_fruit", entrypoint=entry(no_fruit)), release, seen


def user_messages(transport: ScriptedTransport) -> list[str]:
    return [e["item"]["content"][0]["text"] for e in transport.sent if e["type"] == "conversation.item.create"]


async def test_wait_idle_and_agent_end_wait_for_the_verdict_on_a_finished_response() -> None:
    guardrail, release, seen = held_guardrail()
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(agent(guardrails=[guardrail])), transport=transport).run() as session:
        await session.send_message("say banana")
        transport.push(*spoken_turn("r1", "i1", "banana", chunk=b"\x00" * 48_000 * 10))  # 10 s of audio
        got = await events_until(session, lambda e: e.type == "audio_end")
        await anyio.wait_all_tasks_blocked()  # response.done handled; the verdict is still out
        assert seen == ["banana"]
        assert not session.is_idle
        with anyio.move_on_after(0.2) as waited:
            await session.wait_idle()
        assert waited.cancelled_caught
        release.set()
        got += await events_until(session, lambda e: e.type == "agent_end")
        await anyio.wait_all_tasks_blocked()
        assert not session.is_idle  # the retry is requested
        transport.push(*spoken_turn("r2", "i2", "I cannot say that."))
        got += await events_until(session, lambda e: e.type == "agent_end")
        await session.wait_idle()
    assert kinds(got) == ["agent_start", "audio", "audio_end", "guardrail_tripped", "audio_interrupted",
                          "agent_end", "agent_start", "audio", "audio_end", "agent_end"]
    assert user_messages(transport) == ["say banana", "guardrail triggered: no_fruit"]
    assert [e["type"] for e in transport.sent] == [
        "session.update", "conversation.item.create", "response.create",
        "conversation.item.truncate",  # its audio was still playing: cut, but no cancel (it ended)
        "conversation.item.create", "response.create"]
    truncate = transport.sent[3]
    assert (truncate["item_id"], truncate["content_index"]) == ("i1", 0)
    assert 200 <= truncate["audio_end_ms"] < 10_000  # what was played while the verdict was out


async def test_a_late_verdict_never_cuts_or_edits_a_later_response() -> None:
    guardrail, release, _ = held_guardrail()
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(agent(guardrails=[guardrail])), transport=transport).run() as session:
        await session.send_message("say banana")
        transport.push(*spoken_turn("r1", "i1", "banana"))
        got = await events_until(session, lambda e: e.type == "audio_end")
        await anyio.wait_all_tasks_blocked()
        # The user spoke meanwhile: server VAD started r2 on its own.
        transport.push(created("r2"), message_added("r2", "i2"), transcript("r2", "i2", "Sure, "),
                       audio("r2", "i2", b"\x01" * 4800))
        got += await events_until(session, lambda e: e.type == "audio")
        release.set()
        got += await events_until(session, lambda e: e.type == "agent_end")
        transport.push(audio("r2", "i2", b"\x02" * 4800), done("r2"))
        got += await events_until(session, lambda e: e.type == "agent_end")
        await session.wait_idle()
    assert kinds(got) == ["agent_start", "audio", "audio_end", "agent_start", "audio", "guardrail_tripped",
                          "agent_end", "audio", "agent_end"]
    assert [e.audio for e in got if e.type == "audio"][1:] == [b"\x01" * 4800, b"\x02" * 4800]
    assert [e["type"] for e in transport.sent] == ["session.update", "conversation.item.create",
                                                   "response.create"]  # no cancel, cut or retry
    ends = [e.agent.name for e in got if e.type == "agent_end"]
    assert ends == ["assistant", "assistant"]


@dataclass
class GuardrailFunctionOutput:
    """Shaped like the Agents SDK's verdict (built here; the SDK is not imported)."""

    output_info: Any
    tripwire_triggered: bool


async def sdk_turn(result: GuardrailFunctionOutput) -> tuple[list[Any], ScriptedTransport]:
    def check(text: str, context: object) -> GuardrailFunctionOutput:
        return result

    transport = ScriptedTransport(strict=False)
    g = graph(agent(guardrails=[Guardrail("sdk_style", entrypoint=entry(check))]))
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("hello")
        transport.push(*spoken_turn("r1", "i1", "Hello!"))
        got = await events_until(session, lambda e: e.type == "agent_end")
        if result.tripwire_triggered:
            transport.push(*spoken_turn("r2", "i2", "Hi."))
            got += await events_until(session, lambda e: e.type == "agent_end")
        await session.wait_idle()
    return got, transport


async def test_an_sdk_shaped_verdict_that_did_not_trip_is_one_response() -> None:
    got, transport = await sdk_turn(GuardrailFunctionOutput({"checked": True}, False))
    assert kinds(got) == ["agent_start", "audio", "audio_end", "agent_end"]
    assert [e["type"] for e in transport.sent].count("response.create") == 1


async def test_an_sdk_shaped_verdict_that_tripped_carries_its_output_info() -> None:
    got, transport = await sdk_turn(GuardrailFunctionOutput({"found": "greeting"}, True))
    tripped = next(e for e in got if e.type == "guardrail_tripped")
    assert tripped.guardrail_results == [GuardrailResult(True, {"found": "greeting"}, "sdk_style")]
    assert tripped.message == "Hello!"
    assert user_messages(transport) == ["hello", "guardrail triggered: sdk_style"]


async def test_a_return_value_that_is_no_verdict_is_an_error_and_does_not_trip() -> None:
    def check(text: str, context: object) -> object:
        return "looks fine"

    transport = ScriptedTransport(strict=False)
    g = graph(agent(guardrails=[Guardrail("wordy", entrypoint=entry(check))]))
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("hello")
        transport.push(*spoken_turn("r1", "i1", "Hello!"))
        got = await events_until(session, lambda e: e.type == "agent_end")
        await session.wait_idle()
    assert kinds(got) == ["agent_start", "audio", "audio_end", "error", "agent_end"]
    error = next(e for e in got if e.type == "error").error
    assert error == {"message": "guardrail 'wordy' returned str; expected GuardrailResult, bool, None or an "
                                "object with a boolean tripwire_triggered. Counted as not tripped",
                     "guardrail": "wordy"}
    assert [e["type"] for e in transport.sent].count("response.create") == 1


async def test_a_failing_guardrail_is_reported_and_the_response_still_ends() -> None:
    def check(text: str, context: object) -> bool:
        raise RuntimeError("model down")

    transport = ScriptedTransport(strict=False)
    g = graph(agent(guardrails=[Guardrail("flaky", entrypoint=entry(check))]))
    async with Runner(g, transport=transport).run() as session:
        await session.send_message("hello")
        transport.push(*spoken_turn("r1", "i1", "Hello!"))
        got = await events_until(session, lambda e: e.type == "agent_end")
        await session.wait_idle()
    assert types([e for e in got if e.type not in QUIET]) == ["agent_start", "audio", "audio_end", "error",
                                                              "agent_end"]
    assert next(e for e in got if e.type == "error").error == {
        "message": "guardrail 'flaky' failed: RuntimeError: model down"}


async def test_a_hot_reload_waits_for_the_verdict() -> None:
    guardrail, release, _ = held_guardrail()
    transport = ScriptedTransport(strict=False)
    async with Runner(graph(agent(guardrails=[guardrail])), transport=transport).run() as session:
        await session.send_message("hello")
        transport.push(*spoken_turn("r1", "i1", "Hello!"))
        got = await events_until(session, lambda e: e.type == "audio_end")
        await anyio.wait_all_tasks_blocked()
        session.update_graph(graph(agent(guardrails=[guardrail]), version="v2"))
        await anyio.wait_all_tasks_blocked()
        assert [e["type"] for e in transport.sent].count("session.update") == 1  # not yet
        release.set()
        got += await events_until(session, lambda e: e.type == "graph_updated")
        await session.wait_idle()
    assert kinds(got) == ["agent_start", "audio", "audio_end", "agent_end", "graph_updated"]
    assert [e["type"] for e in transport.sent][-1] == "session.update"
    assert session.graph.version == "v2"


async def test_leaving_the_session_cancels_a_pending_verdict() -> None:
    guardrail, _, seen = held_guardrail()  # never released
    transport = ScriptedTransport(strict=False)
    with anyio.fail_after(3):
        async with Runner(graph(agent(guardrails=[guardrail])), transport=transport).run() as session:
            await session.send_message("hello")
            transport.push(*spoken_turn("r1", "i1", "Hello!"))
            await events_until(session, lambda e: e.type == "audio_end")
            await anyio.wait_all_tasks_blocked()
            assert seen == ["Hello!"] and not session.is_idle
    with pytest.raises(SessionError, match="the session is not open"):
        await session.send_message("late")
