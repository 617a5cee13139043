"""Scenario tests (``rtgraph test``): YAML conversations run through the real session, the real
OpenAI transport and the simulator over loopback offline, or live against the API.

Layer: above ``runtime`` and ``transports``, below ``cli``. Format: docs/testing.md.

::

    from realtime_graph.scenarios import load_suite, run_suite, render
    suite = load_suite(["tests/scenarios"], graph="agents.d")
    report = anyio.run(run_suite, suite)
    print(render(report, "text"))
"""

from .cassettes import scenario_from_cassette
from .coverage import Coverage, CoverageArea, graph_coverage
from .execution import Exercised, ScenarioResult, TurnFailure, run_scenario
from .matching import Mismatch, Observation, TurnRecord, check_turn, observe
from .parsing import check_against_graph, load_scenarios, parse_scenarios, scenario_schema
from .scriptgen import script_for
from .spec import Expectation, ModelAction, ScenarioSpec, SendAfter, ToolMock, TurnSpec
from .suite import Suite, load_suite, run_suite, select
from .suite_report import SuiteReport, failure_lines, render, render_junit

__all__ = (
    "Coverage",
    "CoverageArea",
    "Exercised",
    "Expectation",
    "Mismatch",
    "ModelAction",
    "Observation",
    "ScenarioResult",
    "ScenarioSpec",
    "SendAfter",
    "Suite",
    "SuiteReport",
    "ToolMock",
    "TurnFailure",
    "TurnRecord",
    "TurnSpec",
    "check_against_graph",
    "check_turn",
    "failure_lines",
    "graph_coverage",
    "load_scenarios",
    "load_suite",
    "observe",
    "parse_scenarios",
    "render",
    "render_junit",
    "run_scenario",
    "run_suite",
    "scenario_from_cassette",
    "scenario_schema",
    "script_for",
    "select",
)
