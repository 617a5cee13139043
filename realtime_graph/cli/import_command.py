"""``rtgraph import``: write a definition folder from an OpenAI Agents SDK ``RealtimeAgent``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ("import_agent",)


@click.command("import")
@click.argument("target", metavar="MODULE:AGENT")
@click.option("--run-config", "run_config", metavar="MODULE:NAME",
              help="A RealtimeRunConfig, or the model settings dict (initial_model_settings) the app uses.")
@click.option("-o", "--output", "output", default="agents.d", show_default=True, type=click.Path(path_type=str),
              help="Folder to write (created if missing).")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty (same-named files are replaced).")
def import_agent(target: str, run_config: str | None, output: str, force: bool) -> None:
    """Write the YAML of the SDK RealtimeAgent MODULE:AGENT and every agent it hands off to.

    Entrypoints point back at your functions and objects by module:attribute. What has no YAML
    form is listed at the top of the file concerned and printed here; then the folder is validated.
    Exit status: 0 written and valid, 1 not written or invalid, 2 usage error.
    """
    from .reporting import EXIT_ERROR, EXIT_OK, explain

    try:
        from ..config import render_issues, validate
        from ..config.report import plural
        from ..sdk_import import import_sdk_agent, stale_files, write_definition

        definition = import_sdk_agent(target, run_config=run_config)
        folder = Path(output)
        stale = stale_files(definition, folder) if force and folder.is_dir() else []
        written = write_definition(definition, folder, force=force)
        for path in stale:
            click.echo(f"removed {path} (an earlier import's file)")
        for path in written:
            click.echo(f"wrote {path}")
        for note in definition.notes:
            click.echo(f"note: {note}")
        report = validate(output)
        issues = render_issues(report.issues, "text")
    except Exception as exc:
        message, code = explain(exc)
        click.echo(f"rtgraph import: {message}", err=True)
        sys.exit(code)
    if report.issues:
        click.echo(issues)
    if report.graph is not None:
        graph = report.graph
        click.echo(f"{output}: valid graph {graph.version} ({plural(len(graph.agents), 'agent')}, "
                   f"start {graph.start!r})")
    sys.exit(EXIT_ERROR if report.errors else EXIT_OK)
