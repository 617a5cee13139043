"""Graph coverage: which agents, tools, handoffs and guardrails the scenarios exercised (pure).

An agent counts once it answered (``agent_start``); a tool once it was called (or asked for
approval) by that agent; a handoff once it happened (``from → to``); a guardrail once it tripped.
The percentage is over all of them together, so ``--fail-under`` catches a new handoff or tool
without a scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..graph.model import Graph
from .execution import Exercised

__all__ = ("Coverage", "CoverageArea", "graph_coverage")


@dataclass(frozen=True, slots=True)
class CoverageArea:
    """One kind of graph element: every element's label and the labels exercised."""

    name: str
    total: tuple[str, ...]
    covered: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(label for label in self.total if label not in self.covered)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Coverage of one graph by a set of runs."""

    areas: tuple[CoverageArea, ...]

    @property
    def percent(self) -> float:
        total = sum(len(a.total) for a in self.areas)
        covered = sum(len(a.covered) for a in self.areas)
        return 100.0 if total == 0 else 100.0 * covered / total

    def to_dict(self) -> dict[str, object]:
        return {"percent": round(self.percent, 1), **{
            a.name: {"covered": list(a.covered), "missing": list(a.missing), "total": len(a.total)}
            for a in self.areas}}


def _area(name: str, total: Iterable[str], exercised: set[str]) -> CoverageArea:
    labels = tuple(sorted(set(total)))
    return CoverageArea(name, labels, tuple(label for label in labels if label in exercised))


def graph_coverage(graph: Graph, runs: Iterable[Exercised]) -> Coverage:
    """How much of ``graph`` the ``runs`` exercised."""
    agents: set[str] = set()
    tools: set[str] = set()
    handoffs: set[str] = set()
    guardrails: set[str] = set()
    for run in runs:
        agents |= run.agents
        tools |= {f"{agent}.{tool}" for agent, tool in run.tools}
        handoffs |= {f"{a} → {b}" for a, b in run.handoffs}
        guardrails |= run.guardrails
    all_guardrails = {g.name for g in graph.output_guardrails} | {
        g.name for a in graph.agents.values() for g in a.output_guardrails}
    return Coverage((
        _area("agents", graph.agents, agents),
        _area("tools", (f"{a.name}.{t.name}" for a in graph.agents.values() for t in a.tools), tools),
        _area("handoffs", (f"{a.name} → {h.target}" for a in graph.agents.values() for h in a.handoffs
                           if h.enabled), handoffs),
        _area("guardrails", all_guardrails, guardrails),
    ))
