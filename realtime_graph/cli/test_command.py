"""``rtgraph test [PATHS]``: run scenario files offline on the simulator (or live), report, gate CI.

Exit codes: 0 every scenario passed (and coverage reached ``--fail-under``), 1 a scenario failed,
a scenario file or the graph is invalid, or coverage is too low, 2 usage error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ("test",)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"rtgraph test: {message}", err=True)
    sys.exit(code)


def _live_factory(suite: Any, options: dict[str, Any]) -> Any:
    from .reporting import UserFacingError
    from .run import choose_transport

    graph = suite.graphs[suite.default_graph] if suite.default_graph in suite.graphs else next(
        iter(suite.graphs.values()))
    configured = (os.environ.get("OPENAI_API_KEY") or options["url"] or graph.transport.url
                  or graph.transport.api_key is not None or graph.transport.headers)
    if not configured:
        _fail("--transport openai needs an API key: set OPENAI_API_KEY (or transport.api_key in the graph)", 2)
    try:
        transport, _ = choose_transport(graph, transport="openai", url=options["url"], sim_speed=0.0,
                                        environ=os.environ)
    except UserFacingError as exc:
        _fail(str(exc), 2)
    return lambda: transport


def _execute(paths: tuple[Path, ...], options: dict[str, Any]) -> int:
    import anyio

    from ..config import render_issues
    from ..errors import ConfigError
    from ..scenarios import load_suite, render, render_junit, run_suite, scenario_from_cassette, select

    if options["from_cassette"] is not None:
        try:
            click.echo(scenario_from_cassette(options["from_cassette"]), nl=False)
        except ConfigError as exc:
            click.echo(render_issues(exc.issues, "text"), err=True)
            return 1
        return 0
    targets = [str(p) for p in paths] or ["tests/scenarios"]
    try:
        suite = load_suite(targets, graph=options["graph"])
    except ConfigError as exc:
        click.echo(render_issues(exc.issues, options["format"]), err=options["format"] == "text")
        return 1
    chosen = select(suite.scenarios, options["k"])
    if not chosen:
        _fail(f"no scenario matches -k {options['k']!r}" if options["k"] else "no scenarios found in "
              + ", ".join(targets), 2 if options["k"] else 1)
    live = _live_factory(suite, options) if options["transport"] == "openai" else None
    report = anyio.run(lambda: run_suite(suite, chosen, repeat=options["repeat"], jobs=options["jobs"],
                                         live_transport=live))
    click.echo(render(report, options["format"]))
    if options["junit_xml"] is not None:
        try:
            Path(options["junit_xml"]).write_text(render_junit(report), encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {options['junit_xml']}: {exc.strerror}")
    if not report.passed:
        return 1
    under = options["fail_under"]
    if under is not None and report.coverage is not None and report.coverage.percent + 1e-9 < under:
        click.echo(f"rtgraph test: graph coverage {report.coverage.percent:.1f}% is under --fail-under {under:g}%",
                   err=True)
        return 1
    return 0


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-k", "k", metavar="PATTERN", help="Only scenarios whose file::name contains PATTERN "
              "(a glob with * or ?; 'not PATTERN' inverts).")
@click.option("--graph", default="agents.d", show_default=True, type=click.Path(path_type=Path),
              help="Definition folder under test (a scenario's own `graph:` wins).")
@click.option("--format", "format", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="Report format (github: workflow annotations at the failing lines).")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report.")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run each scenario N times and report the pass rate (live models vary).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run up to N scenarios at once.")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PERCENT",
              help="Fail when graph coverage (agents, tools, handoffs, guardrails) is below PERCENT.")
@click.option("--transport", type=click.Choice(["simulator", "openai"]), default="simulator", show_default=True,
              help="simulator: offline, scripted; openai: live against the API (scripted behaviour ignored).")
@click.option("--url", help="Realtime endpoint for --transport openai (e.g. Azure, or a simulator URL).")
@click.option("--from-cassette", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Print a scenario converted from a cassette recorded by `rtgraph run --record`, then exit.")
def test(paths: tuple[Path, ...], **options: Any) -> None:
    """Run scenario files (default ./tests/scenarios) against the graph; exit 1 on any failure."""
    sys.exit(_execute(paths, options))
