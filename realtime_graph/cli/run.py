"""``rtgraph run [PATH]``: run the graph as a live session from a terminal, with hot reload.

Transport choice: ``--transport`` if given, else the graph file's ``transport.type``, else the
OpenAI API when a key (``$OPENAI_API_KEY``, a configured ``transport.api_key``/``headers``) or a
``--url`` is configured, else the embedded simulator, which the first line of output says.

Exit codes: 0 done, 1 invalid definitions or a failed session (one line on stderr), 2 usage,
3 internal error (one line, please report), 130 Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..graph.model import Graph
    from ..transports.base import Transport

__all__ = ("SIMULATOR_NOTICE", "choose_transport", "run")

SIMULATOR_NOTICE = ("rtgraph: no OpenAI API key configured; running on the built-in simulator "
                    "(set OPENAI_API_KEY or pass --transport openai for the real API)")


def choose_transport(graph: Graph, *, transport: str | None, url: str | None, sim_speed: float,
                     environ: Mapping[str, str]) -> tuple[Transport, str | None]:
    """The transport to run on and, when the simulator was chosen implicitly, the notice to print."""
    settings = graph.transport
    kind = transport or settings.type
    notice = None
    if kind is None:
        configured = bool(environ.get("OPENAI_API_KEY")) or bool(settings.headers) or url or settings.url
        if settings.api_key is not None and not settings.api_key.missing(environ):
            configured = True
        kind = "openai" if configured else "simulator"
        notice = SIMULATOR_NOTICE if kind == "simulator" else None
    if kind == "simulator":
        from ..transports import Simulator, SimulatorTransport

        return SimulatorTransport(Simulator(realtime_factor=sim_speed)), notice
    from ..transports import OpenAITransport

    api_key = None
    if settings.api_key is not None and not settings.api_key.missing(environ):
        api_key = settings.api_key.reveal(environ)
    headers = None
    if settings.headers:
        headers = {k: v if isinstance(v, str) else v.reveal(environ) for k, v in settings.headers.items()
                   if isinstance(v, str) or not v.missing(environ)}
    return OpenAITransport(url=url or settings.url, api_key=api_key, headers=headers), None


def _fail(message: str, code: int) -> None:
    click.echo(f"rtgraph run: {message}", err=True)
    sys.exit(code)


def _execute(path: Path, options: dict[str, Any]) -> int:
    from .errors import EXIT_INTERRUPTED, explain

    try:
        return _start(path, options)
    except KeyboardInterrupt:  # Ctrl-C before the session's own handler or during shutdown
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: one line, never a traceback
        error = _unwrap(exc)
        if isinstance(error, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        message, code = explain(error)
        sys.stdout.flush()
        click.echo(f"rtgraph run: {message}", err=True)
        return code


def _start(path: Path, options: dict[str, Any]) -> int:
    import anyio

    from ..config import load, render_issues
    from ..errors import ConfigError
    from ..runtime import Runner
    from .errors import EXIT_ERROR
    from .live import LiveCall, LiveOptions

    try:
        graph = load(path)
    except ConfigError as exc:
        sys.stderr.write(render_issues(exc.issues, "text") + "\n")
        return EXIT_ERROR
    if options["model"]:
        graph = replace(graph, transport=replace(graph.transport, model=options["model"]))
    if options["agent"] and options["agent"] not in graph.agents:
        _fail(f"no agent named {options['agent']!r}; agents: {', '.join(sorted(graph.agents))}", EXIT_ERROR)
    transport, notice = choose_transport(graph, transport=options["transport"], url=options["url"],
                                         sim_speed=options["sim_speed"], environ=os.environ)
    if notice:  # the very first line, on the stream the user reads
        click.echo(notice, err=options["events"] == "json")
    if options["record"] is not None:
        from ..transports.recording import RecordingTransport

        transport = RecordingTransport(transport, options["record"], graph_version=graph.version)
    live = LiveOptions(path=path, say=tuple(options["say"]), events_json=options["events"] == "json",
                       input_wav=options["input_wav"], output_wav=options["output_wav"], mic=options["mic"],
                       approve_all=options["approve_all"], reload=not options["no_reload"],
                       agent=options["agent"])
    call = LiveCall(Runner(graph, transport=transport), graph, live, out=sys.stdout)
    return anyio.run(call.main)


def _unwrap(exc: BaseException) -> BaseException:
    # Task groups wrap failures in ExceptionGroups; the user needs the first real cause.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", default="agents.d", type=click.Path(path_type=Path))
@click.option("--transport", type=click.Choice(["openai", "simulator"]), help="Where the session runs "
              "(default: graph file, else OpenAI when a key is configured, else the simulator).")
@click.option("--url", help="Realtime endpoint (OpenAI transport), e.g. an Azure GA URL.")
@click.option("--model", help="Model name (overrides the graph file).")
@click.option("--agent", help="Agent to start with (default: the graph's start).")
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
