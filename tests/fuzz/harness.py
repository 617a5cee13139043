"""Running one fuzz case and checking what the loader promises about it.

The promises (docs/format.md, "Validation"): ``validate()`` / ``validate_dict()`` never raise;
every issue is located (a file, and a line and column when the file is a definition file);
the rendered report is valid UTF-8 in every format; a valid graph's wire data (tools, session
settings) is strict JSON; the call returns within :data:`CASE_SECONDS` of CPU time (and
:data:`WALL_SECONDS` of wall time).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from realtime_graph.config import render_issues, validate, validate_dict
from realtime_graph.graph.model import thaw

from .mutations import Case

__all__ = ("CASE_SECONDS", "WALL_SECONDS", "Outcome", "run_case")

CASE_SECONDS = 1.0
"""CPU seconds one case may take."""
WALL_SECONDS = 3.0
"""Wall-clock seconds one case may take (generous: CI machines are shared)."""


@dataclass
class Outcome:
    index: int
    seconds: float
    failure: str | None  # None: every promise held
    ok: bool = False  # the case was a valid graph
    codes: tuple[str, ...] = ()


def _forget_modules(folder: Path) -> None:
    prefix = str(folder)
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(prefix):
            del sys.modules[name]


def _check(report: object, mode: str) -> str | None:
    from realtime_graph.config import ValidationReport

    assert isinstance(report, ValidationReport)
    for issue in report.issues:
        if not issue.file:
            return f"unlocated issue {issue.code}: {issue.message[:80]!r}"
        if mode == "folder" and issue.file.endswith((".yaml", ".yml")) and (issue.line is None or issue.column is None):
            return f"issue without line in a definition file {issue.code}: {issue.message[:80]!r}"
    for fmt in ("text", "json", "github"):
        try:
            render_issues(report.issues, fmt).encode("utf-8")  # type: ignore[arg-type]
        except UnicodeEncodeError as exc:
            return f"report not UTF-8 ({fmt}): {exc}"
    if report.ok != (report.graph is not None):
        return "report.ok disagrees with report.graph"
    if report.graph is not None:
        graph = report.graph
        try:
            json.dumps(thaw(graph.model_settings), allow_nan=False)
            for agent in graph.agents.values():
                json.dumps([t.to_wire() for t in agent.tools], allow_nan=False)
                json.dumps(thaw(agent.model_settings), allow_nan=False)
        except (TypeError, ValueError) as exc:
            return f"valid graph is not strict JSON: {type(exc).__name__}: {exc}"
    return None


def run_case(case: Case, workdir: Path) -> Outcome:
    """Write ``case`` under ``workdir``, validate it, check the promises, clean up."""
    folder = workdir / f"case_{case.index}"
    folder.mkdir(parents=True)
    failure: str | None = None
    report = None
    try:
        if case.documents is None:
            from .mutations import write_case

            write_case(case, folder)
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            if case.documents is None:
                report = validate(folder, environ={})
            else:
                report = validate_dict(case.documents, environ={})
        except BaseException as exc:  # the promise under test: nothing escapes
            if isinstance(exc, KeyboardInterrupt):
                raise
            frames = traceback.extract_tb(exc.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames)
                          if "realtime_graph" in f.filename), "?")
            failure = f"raised {type(exc).__name__} at {where}: {str(exc)[:100]!r}"
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if failure is None and report is not None:
            failure = _check(report, case.mode)
        # CPU time, so that a loaded CI machine does not fail fast cases; wall time catches sleeps
        if failure is None and (cpu > CASE_SECONDS or seconds > WALL_SECONDS):
            failure = f"took {seconds:.2f}s ({cpu:.2f}s CPU)"
    finally:
        _forget_modules(folder)
        shutil.rmtree(folder, ignore_errors=True)
    codes = tuple(sorted({i.code for i in report.issues})) if report is not None else ()
    return Outcome(case.index, seconds, failure, ok=bool(report is not None and report.ok), codes=codes)
