"""Tool mocks: the graph under test with some tools' entrypoints swapped for canned behaviour.

The graph model is frozen, so a mocked graph is a copy (``dataclasses.replace``) whose mocked
tools call a :class:`MockBehaviour` instead of user code; everything else (schemas, approvals,
timeouts, the runtime) is untouched, so a mocked tool is dispatched exactly like a real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import anyio

from ..graph.model import Entrypoint, Graph
from .spec import ToolMock

__all__ = ("MockBehaviour", "MockToolError", "mocked_graph")


class MockToolError(Exception):
    """What a ``raises`` mock raises; its message is the scenario's text."""


class MockBehaviour:
    """The callable a mocked tool runs (any keyword arguments; the model's arguments)."""

    def __init__(self, mock: ToolMock) -> None:
        self.mock = mock
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **arguments: Any) -> Any:
        self.calls.append(arguments)
        if self.mock.delay_ms:
            await anyio.sleep(self.mock.delay_ms / 1000)
        if self.mock.raises is not None:
            raise MockToolError(self.mock.raises)
        return self.mock.returns


def mocked_graph(graph: Graph, mocks: Mapping[str, ToolMock]) -> Graph:
    """``graph`` with every tool named in ``mocks`` (in every agent) replaced by its mock."""
    if not mocks:
        return graph
    behaviours = {name: MockBehaviour(mock) for name, mock in mocks.items()}
    agents = {}
    for name, agent in graph.agents.items():
        tools = tuple(
            replace(tool, entrypoint=Entrypoint(ref=f"scenario-mock:{tool.name}", target=behaviours[tool.name],
                                                is_async=True, location=mocks[tool.name].location),
                    takes_context=False)
            if tool.name in behaviours else tool
            for tool in agent.tools
        )
        agents[name] = replace(agent, tools=tools) if tools != agent.tools else agent
    return replace(graph, agents=agents)
