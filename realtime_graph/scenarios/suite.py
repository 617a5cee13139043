"""A suite: scenario files + the graphs they test → every run, coverage, one report.

:func:`load_suite` finds and validates everything before anything runs (a typo in a scenario is a
located error, never a failing run); :func:`run_suite` runs the selected scenarios ``repeat``
times, at most ``jobs`` at once, each in its own session and (offline) its own simulator.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio

from ..errors import ConfigError, Issue
from ..graph.model import Graph
from ..transports.base import Transport
from .coverage import graph_coverage
from .execution import ScenarioResult, run_scenario
from .parsing import check_against_graph, load_scenarios
from .spec import ScenarioSpec
from .suite_report import SuiteReport

__all__ = ("Suite", "load_suite", "run_suite", "select")

DEFAULT_GRAPH = "agents.d"


@dataclass(frozen=True, slots=True)
class Suite:
    """Validated scenarios and the graph each one runs against (by resolved folder)."""

    scenarios: tuple[ScenarioSpec, ...]
    graphs: dict[str, Graph]
    graph_of: dict[str, str]  # scenario id -> graph folder
    default_graph: str


def _graph_path(spec: ScenarioSpec, default: str) -> str:
    return os.path.normpath(spec.graph if spec.graph is not None else default)


def load_suite(paths: Iterable[str | os.PathLike[str]], *, graph: str | os.PathLike[str] = DEFAULT_GRAPH) -> Suite:
    """Load and check every scenario in ``paths`` and every graph they name.

    :raises ConfigError: every located problem (scenario syntax, schema, graph definitions,
        names the graph does not have).
    """
    from ..config import load

    specs = load_scenarios(paths)
    default = os.path.normpath(os.fspath(graph))
    graphs: dict[str, Graph] = {}
    issues: list[Issue] = []
    for folder in sorted({_graph_path(s, default) for s in specs}):
        if not Path(folder).exists():
            users = [s for s in specs if _graph_path(s, default) == folder]
            where = users[0].location
            issues.append(Issue(code="SC121", message=f"graph folder {folder!r} not found",
                                file=where.file if where else users[0].file, line=where.line if where else None,
                                column=where.column if where else None,
                                hint="pass --graph PATH or set `graph:` in the scenario"))
            continue
        try:
            graphs[folder] = load(folder)
        except ConfigError as exc:
            issues += exc.issues
    for spec in specs:
        loaded = graphs.get(_graph_path(spec, default))
        if loaded is not None:
            issues += check_against_graph(spec, loaded)
    if issues:
        raise ConfigError(issues)
    return Suite(tuple(specs), graphs, {s.id: _graph_path(s, default) for s in specs}, default)


def select(specs: Iterable[ScenarioSpec], pattern: str | None) -> list[ScenarioSpec]:
    """Scenarios whose id (``file::name``) contains ``pattern`` (case-insensitive), or matches it
    as a glob when it has ``*``/``?``; ``not PATTERN`` inverts."""
    chosen = list(specs)
    if not pattern:
        return chosen
    negate = pattern.startswith("not ")
    wanted = pattern[4:].strip() if negate else pattern.strip()

    def hit(spec: ScenarioSpec) -> bool:
        text = spec.id.casefold()
        if any(c in wanted for c in "*?["):
            return fnmatch.fnmatch(text, wanted.casefold()) or fnmatch.fnmatch(spec.name.casefold(), wanted.casefold())
        return wanted.casefold() in text

    return [s for s in chosen if hit(s) != negate]


async def run_suite(
    suite: Suite,
    scenarios: Iterable[ScenarioSpec] | None = None,
    *,
    repeat: int = 1,
    jobs: int = 1,
    live_transport: Callable[[], Transport] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> SuiteReport:
    """Run ``scenarios`` (default: all) ``repeat`` times, ``jobs`` at once.

    ``live_transport``: a factory of live transports (scripted behaviour ignored); default
    offline on the simulator. ``on_result`` is called as each run finishes.
    """
    chosen = list(suite.scenarios if scenarios is None else scenarios)
    started = time.monotonic()
    results: dict[tuple[int, int], ScenarioResult] = {}
    limiter = anyio.CapacityLimiter(max(1, jobs))

    async def one(index: int, spec: ScenarioSpec, run: int) -> None:
        async with limiter:
            graph = suite.graphs[suite.graph_of[spec.id]]
            transport = live_transport() if live_transport is not None else None
            result = await run_scenario(spec, graph, transport=transport, run=run)
        results[(index, run)] = result
        if on_result is not None:
            on_result(result)

    async with anyio.create_task_group() as tg:
        for index, spec in enumerate(chosen):
            for run in range(repeat):
                tg.start_soon(one, index, spec, run)
    ordered = tuple(results[key] for key in sorted(results))
    covered_graph = suite.graphs.get(suite.default_graph) or next(iter(suite.graphs.values()), None)
    coverage = None
    if covered_graph is not None:
        folder = next(f for f, g in suite.graphs.items() if g is covered_graph)
        coverage = graph_coverage(covered_graph, (r.exercised for r in ordered
                                                  if suite.graph_of[r.spec.id] == folder))
    return SuiteReport(ordered, coverage, time.monotonic() - started, live=live_transport is not None)
