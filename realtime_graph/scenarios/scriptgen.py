"""A scenario's scripted model behaviour → a simulator script (pure).

Each scenario turn's ``model`` actions are split into responses: a ``call`` or ``handoff`` ends a
response (the session answers it with the tool output and a new ``response.create``), so the
actions after it form the next response. Every response becomes one simulator script turn that
matches only the scenario turn's user text, so a turn without ``model`` is answered by the
simulator's default rules and does not consume the next turn's script.
"""

from __future__ import annotations

import json
import re

from ..graph.model import Graph
from ..transports.simulator.vocabulary import Action, Call, Fail, Handoff, Say, SimulatorScript, Turn
from .spec import ModelAction, ScenarioSpec, TurnSpec

__all__ = ("GREETING_REPLY", "responses_of", "script_for")

GREETING_REPLY = "Hello! How can I help you today?"
"""What the simulated model says for a graph's ``greeting:`` in offline scenario runs."""


def _greets(spec: ScenarioSpec, graph: Graph) -> bool:
    agent = graph.agents.get(spec.agent or graph.start)
    return agent is not None and (agent.greeting is not None or graph.greeting is not None)


def _handoff_tool(graph: Graph | None, agent: str) -> str | None:
    if graph is None:
        return None
    for candidate in graph.agents.values():
        for handoff in candidate.handoffs:
            if handoff.target == agent:
                return handoff.tool_name
    return None


def _action(action: ModelAction, graph: Graph | None) -> Action:
    if action.kind == "say":
        return Say(action.text)
    if action.kind == "call":
        return Call(action.tool, json.dumps(dict(action.arguments)))
    if action.kind == "handoff":
        tool = _handoff_tool(graph, action.agent)
        return Handoff(tool=tool) if tool else Handoff(agent=action.agent)
    return Fail(action.code, action.text, "server_error")


def responses_of(actions: tuple[ModelAction, ...]) -> list[tuple[ModelAction, ...]]:
    """``actions`` split into responses: each ``call``/``handoff`` closes the current one."""
    out: list[tuple[ModelAction, ...]] = []
    current: list[ModelAction] = []
    for action in actions:
        current.append(action)
        if action.kind in ("call", "handoff"):
            out.append(tuple(current))
            current = []
    if current:
        out.append(tuple(current))
    return out


def _match(turn: TurnSpec) -> re.Pattern[str] | None:
    text = turn.user_text
    return re.compile(rf"^{re.escape(text)}$", re.IGNORECASE | re.DOTALL) if text is not None else None


def script_for(spec: ScenarioSpec, graph: Graph | None = None) -> SimulatorScript:
    """The simulator script playing ``spec``'s model behaviour."""
    turns: list[Turn] = []
    if graph is not None and _greets(spec, graph):
        # The session speaks first (greeting:); that response must not use the first turn's script.
        turns.append(Turn(actions=(Say(GREETING_REPLY),)))
    for turn in spec.turns:
        responses = responses_of(turn.model)
        if not responses and turn.audio is not None and turn.transcript is not None:
            # The recogniser's transcript travels on a script turn; without scripted behaviour
            # the answer is the default rules' echo.
            responses = [(ModelAction("say", text=f"You said: {turn.transcript}"),)]
        for number, response in enumerate(responses):
            turns.append(Turn(
                actions=tuple(_action(a, graph) for a in response),
                match=_match(turn),
                transcript=turn.transcript if number == 0 else None,
            ))
    return SimulatorScript(tuple(turns))
