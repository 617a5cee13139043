"""``rtgraph validate``: every problem of a definition folder, located, in a CI-friendly format."""

from __future__ import annotations

import sys

import click

__all__ = ("validate",)


@click.command()
@click.argument("path", default="agents.d", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="text for people, json for tools, github for workflow annotations.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--no-import", "no_import", is_flag=True,
              help="Do not import entrypoint modules: check that their files define the names, statically.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also list every entrypoint and the call convention it was matched to (ours or the SDK's).")
def validate(path: str, fmt: str, strict: bool, no_import: bool, verbose: bool) -> None:
    """Validate the definition folder PATH (default agents.d).

    Exit status: 0 valid, 1 errors (or warnings with --strict), 2 usage error.
    """
    from .reporting import EXIT_ERROR, EXIT_OK, explain

    try:
        from ..config import render_issues
        from ..config import validate as validate_folder
        from ..config.report import plural

        report = validate_folder(path, import_entrypoints=not no_import)
        output = render_issues(report.issues, fmt)  # type: ignore[arg-type]
    except Exception as exc:
        message, code = explain(exc)
        click.echo(f"rtgraph validate: {message}", err=True)
        sys.exit(code)
    click.echo(output)
    graph = report.graph
    if fmt == "text" and graph is not None and verbose:
        from ..config.callshapes import convention_lines

        for line in convention_lines(graph):
            click.echo(line)
    if fmt == "text" and graph is not None:
        click.echo(f"{path}: valid graph {graph.version} ({plural(len(graph.agents), 'agent')}, start {graph.start!r})")
    sys.exit(EXIT_ERROR if report.errors or (strict and report.warnings) else EXIT_OK)
