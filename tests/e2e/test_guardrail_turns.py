"""Output guardrails and the turn boundary, end to end (real WebSocket, the simulator's echo).

The simulator answers every ``response.create`` with "You said: <last user text>". A guardrail
tripping on "banana" therefore trips on the first reply to "banana"; the retry's reply echoes
"guardrail triggered: <name>", clean unless the name itself says banana, which makes a loop
that only ``run.guardrails.max_consecutive_trips`` ends.
"""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import events_until, kinds, one_agent, simulator, until_ends, wire_types

pytestmark = pytest.mark.anyio

CODE = """
SEEN = []

def no_fruit(text, context):
    SEEN.append(text)
    return "banana" in text.lower()

def always(text, context):
    return True
"""

FRUIT = one_agent(agent_extra="""output_guardrails:
  - {entrypoint: "{mod}:no_fruit"}
""")


def transcripts(history) -> list[tuple[str, str]]:
    out = []
    for item in history:
        part = item.content[0]
        out.append((item.role, part.get("text") or part.get("transcript")))
    return out


async def test_a_short_tripped_reply_then_a_clean_second_turn(load_graph) -> None:
    graph, mod = load_graph(FRUIT, CODE)
    name = f"{mod.__name__}:no_fruit"
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("banana")
        first = await until_ends(session, 2)
        await session.wait_idle()  # returns only after the verdict and the retry
        first_history = transcripts(session.history)
        await session.send_message("hello there")
        second = await until_ends(session, 1)
        await session.wait_idle()
        history = transcripts(session.history)

    assert kinds(first) == ["agent_start", "audio_end", "guardrail_tripped", "audio_interrupted", "agent_end",
                            "agent_start", "audio_end", "agent_end"]
    tripped = next(e for e in first if e.type == "guardrail_tripped")
    assert tripped.message == "You said: banana"
    assert [(r.tripwire_triggered, r.guardrail) for r in tripped.guardrail_results] == [(True, name)]
    assert first_history == [("user", "banana"), ("assistant", "You said: banana"),
                             ("user", f"guardrail triggered: {name}"),
                             ("assistant", f"You said: guardrail triggered: {name}")]
    # The second turn: untouched by the first verdict, its transcript intact.
    assert kinds(second, frozenset({"raw_model_event", "audio"})) == [
        "history_added", "agent_start", "history_added", "audio_end", "history_updated", "agent_end"]
    assert history[4:] == [("user", "hello there"), ("assistant", "You said: hello there")]
    assert ["You said: banana", f"You said: guardrail triggered: {name}", "You said: hello there"] == mod.SEEN
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "conversation.item.truncate", "conversation.item.create", "response.create",
                               "conversation.item.create", "response.create"]
    assert sim.emitted_of("error") == []


LOOP = one_agent(graph_settings="{run}", agent_extra="""output_guardrails:
  - {entrypoint: "{mod}:always"}
""")


@pytest.mark.parametrize(("run", "bound"), [("", 2), ("run: {guardrails: {max_consecutive_trips: 3}}", 3)])
async def test_trips_in_a_row_are_bounded_and_the_next_turn_works(load_graph, run: str, bound: int) -> None:
    graph, mod = load_graph(LOOP.replace("{run}", run), CODE)
    assert graph.run.guardrail_max_consecutive_trips == bound
    transport, sim = simulator()
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("anything")
        got = await events_until(session, lambda e: e.type == "error")
        await session.wait_idle()
        await anyio.sleep(0.2)  # nothing more happens on its own
        assert wire_types(sim).count("response.create") == bound
        await session.send_message("again")
        again = await events_until(session, lambda e: e.type == "error")
        await session.wait_idle()

    turn = ["agent_start", "audio_end", "guardrail_tripped", "audio_interrupted", "agent_end"]
    assert kinds(got + again) == (turn * bound + ["error"]) * 2
    error = next(e for e in got if e.type == "error").error
    assert error == {"message": f"guardrail '{mod.__name__}:always' tripped on {bound} responses in a row; "
                                f"not asking the model again (run.guardrails.max_consecutive_trips: {bound}). "
                                "The next user turn starts afresh",
                     "kind": "guardrail_retries_exhausted"}
    assert wire_types(sim).count("response.create") == 2 * bound
    assert len(sim.emitted_of("response.created")) == 2 * bound
