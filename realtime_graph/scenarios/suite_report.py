"""Suite results → text, JSON, GitHub annotations and JUnit XML (pure).

A failure names the scenario file and the line of the failing expectation, then the expected
text and what the turn showed instead::

    FAIL tests/scenarios/weather.yaml::weather_in_paris  (0.42 s)
      tests/scenarios/weather.yaml:14:11: turn 1: expected tool get_weather called with arguments ⊇ {"city": "Paris"}
        observed: tool get_weather {"city": "London"} → "The weather in London is light rain, 15 °C."
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree import ElementTree

from ..config.report import github_escape
from .coverage import Coverage
from .execution import ScenarioResult, TurnFailure

__all__ = ("Format", "SuiteReport", "failure_lines", "render", "render_junit")

Format = Literal["text", "json", "github"]


@dataclass(frozen=True, slots=True)
class SuiteReport:
    """Every run of every selected scenario, the coverage they reached, and the wall time."""

    results: tuple[ScenarioResult, ...]
    coverage: Coverage | None
    duration_s: float
    live: bool = False

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def by_scenario(self) -> dict[str, list[ScenarioResult]]:
        out: dict[str, list[ScenarioResult]] = {}
        for r in self.results:
            out.setdefault(r.spec.id, []).append(r)
        return out


def _where(result: ScenarioResult, failure: TurnFailure | None) -> tuple[str, int | None, int | None]:
    spec = result.spec
    loc = None
    if failure is not None:
        e = failure.mismatch.expectation
        loc = e.location if e is not None else spec.turns[failure.turn].location
    loc = loc or spec.location
    return spec.file, (loc.line if loc else None), (loc.column if loc else None)


def failure_lines(result: ScenarioResult) -> list[str]:
    """The located, human-readable lines explaining why ``result`` failed."""
    lines: list[str] = []
    for failure in result.failures:
        file, line, column = _where(result, failure)
        at = f"{file}:{line}:{column}" if line is not None else file
        lines.append(f"{at}: turn {failure.turn + 1}: expected {failure.mismatch.expected}")
        observed = failure.mismatch.observed
        lines.append(f"  observed: {observed[0]}")
        lines += [f"            {o}" for o in observed[1:]]
    if result.error is not None:
        file, line, column = _where(result, None)
        lines.append(f"{file}:{line}:{column}: error: {result.error}" if line else f"{file}: error: {result.error}")
    return lines


def _coverage_text(coverage: Coverage) -> list[str]:
    lines = [f"graph coverage: {coverage.percent:.1f}%"]
    for area in coverage.areas:
        lines.append(f"  {area.name:<10} {len(area.covered)}/{len(area.total)}"
                     + (f"  missing: {', '.join(area.missing)}" if area.missing else ""))
    return lines


def _summary(report: SuiteReport) -> str:
    groups = report.by_scenario()
    failed = sum(1 for runs in groups.values() if not all(r.passed for r in runs))
    runs = len(report.results)
    passed_runs = sum(r.passed for r in report.results)
    text = f"{len(groups) - failed} passed, {failed} failed"
    if runs != len(groups):
        text += f"; {passed_runs}/{runs} runs passed ({100 * passed_runs / runs:.0f}%)"
    return f"{text} in {report.duration_s:.2f} s" + (" (live)" if report.live else "")


def _text(report: SuiteReport) -> str:
    lines: list[str] = []
    for scenario_id, runs in report.by_scenario().items():
        ok = sum(r.passed for r in runs)
        took = sum(r.duration_s for r in runs)
        status = "PASS" if ok == len(runs) else "FAIL"
        rate = f"  {ok}/{len(runs)} runs" if len(runs) > 1 else ""
        lines.append(f"{status} {scenario_id}  ({took:.2f} s){rate}")
        for r in runs:
            if not r.passed:
                prefix = f"  run {r.run + 1}: " if len(runs) > 1 else "  "
                lines += [prefix + line if i == 0 else "  " + " " * (len(prefix) - 2) + line
                          for i, line in enumerate(failure_lines(r))]
    if report.coverage is not None:
        lines += _coverage_text(report.coverage)
    lines.append(_summary(report))
    return "\n".join(lines)


def _json(report: SuiteReport) -> str:
    scenarios: list[dict[str, Any]] = []
    for scenario_id, runs in report.by_scenario().items():
        scenarios.append({
            "id": scenario_id, "file": runs[0].spec.file, "name": runs[0].spec.name,
            "passed": all(r.passed for r in runs), "runs": len(runs), "runs_passed": sum(r.passed for r in runs),
            "duration_s": round(sum(r.duration_s for r in runs), 3),
            "failures": [{"run": r.run, "turn": f.turn + 1, "file": _where(r, f)[0], "line": _where(r, f)[1],
                          "column": _where(r, f)[2], "expected": f.mismatch.expected,
                          "observed": list(f.mismatch.observed)} for r in runs for f in r.failures],
            "errors": [r.error for r in runs if r.error is not None],
        })
    out = {"passed": report.passed, "duration_s": round(report.duration_s, 3), "live": report.live,
           "scenarios": scenarios, "coverage": report.coverage.to_dict() if report.coverage else None}
    return json.dumps(out, ensure_ascii=False, indent=2)


def _github(report: SuiteReport) -> str:
    lines: list[str] = []
    for result in report.results:
        for failure in result.failures:
            file, line, column = _where(result, failure)
            title = github_escape(f"scenario {result.spec.name} failed", prop=True)
            where = f"file={github_escape(file, prop=True)}" + (f",line={line},col={column}" if line else "")
            message = f"turn {failure.turn + 1}: expected {failure.mismatch.expected}\nobserved: " + "\n".join(
                failure.mismatch.observed)
            lines.append(f"::error {where},title={title}::{github_escape(message)}")
        if result.error is not None:
            file, line, column = _where(result, None)
            where = f"file={github_escape(file, prop=True)}" + (f",line={line},col={column}" if line else "")
            title = github_escape(f"scenario {result.spec.name} errored", prop=True)
            lines.append(f"::error {where},title={title}::{github_escape(result.error)}")
    if report.coverage is not None:
        lines.append(f"::notice title=graph coverage::{github_escape(' '.join(_coverage_text(report.coverage)))}")
    lines.append(_summary(report))
    return "\n".join(lines)


def render(report: SuiteReport, fmt: Format = "text") -> str:
    """The report as ``text`` (humans), ``json`` (tools) or ``github`` (workflow annotations)."""
    return {"text": _text, "json": _json, "github": _github}[fmt](report)


def render_junit(report: SuiteReport, *, suite_name: str = "rtgraph test") -> str:
    """JUnit XML: one ``testsuite`` per scenario file, one ``testcase`` per scenario run."""
    root = ElementTree.Element("testsuites", name=suite_name, tests=str(len(report.results)),
                               failures=str(sum(bool(r.failures) for r in report.results)),
                               errors=str(sum(r.error is not None and not r.failures for r in report.results)),
                               time=f"{report.duration_s:.3f}")
    files: dict[str, list[ScenarioResult]] = {}
    for r in report.results:
        files.setdefault(r.spec.file, []).append(r)
    for file, results in files.items():
        suite = ElementTree.SubElement(root, "testsuite", name=file, tests=str(len(results)),
                                       failures=str(sum(bool(r.failures) for r in results)),
                                       errors=str(sum(r.error is not None and not r.failures for r in results)),
                                       time=f"{sum(r.duration_s for r in results):.3f}")
        for r in results:
            name = r.spec.name if r.run == 0 and len([x for x in results if x.spec.name == r.spec.name]) == 1 \
                else f"{r.spec.name}[run {r.run + 1}]"
            case = ElementTree.SubElement(suite, "testcase", classname=file, name=name, file=file,
                                          time=f"{r.duration_s:.3f}")
            if r.spec.location is not None:
                case.set("line", str(r.spec.location.line))
            text = "\n".join(failure_lines(r))
            if r.failures:
                first = r.failures[0]
                node = ElementTree.SubElement(case, "failure", message=f"turn {first.turn + 1}: expected "
                                              f"{first.mismatch.expected}", type="ExpectationFailed")
                node.text = text
            elif r.error is not None:
                node = ElementTree.SubElement(case, "error", message=r.error, type="ScenarioError")
                node.text = text
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
