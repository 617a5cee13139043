"""``rtgraph schema`` (the JSON Schema for editors) and ``rtgraph graph`` (Mermaid handoff graph)."""

from __future__ import annotations

import json
import sys

import click

__all__ = ("graph", "schema")


@click.command()
@click.option("--kind", type=click.Choice(["agent", "graph"]),
              help="Only the schema of one document kind (default: the combined schema).")
def schema(kind: str | None) -> None:
    """Print the JSON Schema (2020-12) of definition documents.

    Editors use it through a first line such as
    ``# yaml-language-server: $schema=<path or URL of rtgraph.schema.json>``.
    """
    from ..config.schema import schema_document

    click.echo(json.dumps(schema_document(kind), indent=2, ensure_ascii=False))


@click.command()
@click.argument("path", default="agents.d", type=click.Path(path_type=str))
def graph(path: str) -> None:
    """Print the handoff graph of PATH as a Mermaid flowchart (entrypoints are not imported)."""
    from .reporting import EXIT_ERROR, explain

    try:
        from ..config import render_issues, validate
        from ..graph.mermaid import to_mermaid

        report = validate(path, import_entrypoints=False)
        output = to_mermaid(report.graph) if report.graph is not None else render_issues(report.issues)
    except Exception as exc:
        message, code = explain(exc)
        click.echo(f"rtgraph graph: {message}", err=True)
        sys.exit(code)
    if report.graph is None:
        click.echo(output, err=True)
        sys.exit(EXIT_ERROR)
    click.echo(output, nl=False)
