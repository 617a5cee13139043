"""The ``rtgraph`` command line: the only layer that prints or exits.

Subcommands live in their own modules and are imported only when invoked, so ``rtgraph --help``
stays fast (no yaml, jsonschema, jinja2, websockets or anyio at start-up).

Exit codes: 0 ok, 1 invalid definitions or failed session, 2 usage error, 3 unexpected internal
error, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ("main",)

# command name -> (module, attribute, one-line help shown by `rtgraph --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("realtime_graph.cli.run", "run", "Run the graph as a live voice session (simulator without an API key)."),
    "validate": (
        "realtime_graph.cli.validate", "validate", "Validate a definition folder; every problem at file:line:col."
    ),
    "schema": ("realtime_graph.cli.inspect", "schema", "Print the JSON Schema of definition files."),
    "graph": ("realtime_graph.cli.inspect", "graph", "Print the handoff graph as Mermaid."),
    "import": (
        "realtime_graph.cli.import_command", "import_agent", "Write a definition folder from an SDK RealtimeAgent."
    ),
    "serve": ("realtime_graph.cli.serve", "serve", "Serve the graph to browsers: console, probes, metrics."),
    "call": ("realtime_graph.cli.call", "call", "Place a simulated phone call (--twilio, --sip) against serve."),
    "test": ("realtime_graph.cli.test_command", "test", "Run scenario tests offline (simulator) or live; coverage."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from the table above so that listing commands imports nothing.
        rows = [(name, help_) for name, (_, _, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="realtime-graph", prog_name="rtgraph")
def cli() -> None:
    """Declarative realtime voice agents: validate, run and hot-reload agents.d/ graphs."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="rtgraph")
