"""``rtgraph run [PATH]``: run the graph as a live session from a terminal, with hot reload.

Transport choice: ``--transport`` if given, else the graph file's ``transport.type``, else the
OpenAI API when a key (``$OPENAI_API_KEY``, a configured ``transport.api_key``/``headers``) or a
``--url`` is configured, else the embedded simulator, which the first line of output says.

Exit codes: 0 done, 1 invalid definitions (every located issue on stderr) or a failed session
(one line on stderr), 2 usage, 3 internal error (one line, please report), 130 Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

# The rule lives below the CLI so that `rtgraph serve` chooses exactly like `rtgraph run`.
from ..serve.transport_choice import SIMULATOR_NOTICE, choose_transport

__all__ = ("SIMULATOR_NOTICE", "choose_transport", "run")


def _execute(path: Path, options: dict[str, Any]) -> int:
    from .reporting import reported

    return reported("run", lambda: _start(path, options))


def _start(path: Path, options: dict[str, Any]) -> int:
    import anyio

    from ..config import render_issues, validate
    from ..errors import ConfigError
    from ..runtime import Runner
    from .live import LiveCall, LiveOptions
    from .reporting import UserFacingError

    report = validate(path)
    if report.graph is None:
        raise ConfigError(report.issues)
    if report.warnings:  # e.g. RG502: an unset ${ENV} explains a failure further on
        sys.stderr.write(render_issues(report.warnings, "text") + "\n")
    graph = report.graph
    if options["model"]:
        graph = replace(graph, transport=replace(graph.transport, model=options["model"]))
    if options["call_id"]:  # attach to a SIP/WebRTC call accepted elsewhere (?call_id=)
        graph = replace(graph, transport=replace(graph.transport, call_id=options["call_id"]))
    if options["agent"] and options["agent"] not in graph.agents:
        raise UserFacingError(f"no agent named {options['agent']!r}; agents: {', '.join(sorted(graph.agents))}")
    transport, notice = choose_transport(graph, transport=options["transport"], url=options["url"],
                                         sim_speed=options["sim_speed"], environ=os.environ)
    if options["record"] is not None:
        from ..transports.recording import RecordingTransport

        transport = RecordingTransport(transport, options["record"], graph_version=graph.version)
    live = LiveOptions(path=path, say=tuple(options["say"]), events_json=options["events"] == "json",
                       input_wav=options["input_wav"], output_wav=options["output_wav"], mic=options["mic"],
                       approve_all=options["approve_all"], reload=not options["no_reload"],
                       agent=options["agent"])
    # Built before anything is printed: it reads --input-wav, so a bad file fails the run first.
    call = LiveCall(Runner(graph, transport=transport), graph, live, out=sys.stdout)
    if notice:  # the very first line, on the stream the user reads
        click.echo(notice, err=options["events"] == "json")
    return anyio.run(call.main)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", default="agents.d", type=click.Path(path_type=Path))
@click.option("--transport", type=click.Choice(["openai", "simulator"]), help="Where the session runs "
              "(default: graph file, else OpenAI when a key is configured, else the simulator).")
@click.option("--url", help="Realtime endpoint (OpenAI transport), e.g. an Azure GA URL.")
@click.option("--model", help="Model name (overrides the graph file).")
@click.option("--agent", help="Agent to start with (default: the graph's start).")
@click.option("--call-id", metavar="ID", help="Attach to an accepted SIP/WebRTC call (?call_id=ID) instead of "
              "starting a new session (overrides transport.call_id).")
@click.option("--say", multiple=True, metavar="TEXT",
              help="Send TEXT as a user turn, wait for the full response; repeatable; exits after the last.")
@click.option("--events", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: print every session event as one JSON line instead of the transcript.")
@click.option("--input-wav", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Stream a 16-bit WAV file as microphone input, then wait for the response.")
@click.option("--output-wav", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the assistant's audio to a WAV file.")
@click.option("--mic", is_flag=True, help="Live microphone and speaker (pip install 'realtime-graph[audio]').")
@click.option("--approve-all", is_flag=True,
              help="Approve every tool call that needs approval (non-interactive runs reject them otherwise).")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the session (client and server events, timings) to a JSON-lines cassette.")
@click.option("--no-reload", is_flag=True, help="Do not watch PATH for changes.")
@click.option("--sim-speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Simulator pacing: 1 = real time, 0 = as fast as possible.")
def run(path: Path, **options: Any) -> None:
    """Run the graph in PATH (default ./agents.d) as a live session, hot-reloading edits."""
    sys.exit(_execute(path, options))
