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
    """The transport to run on and, when the simulator was chosen implicitly, the notice to print.

    :raises UserFacingError: the OpenAI transport was chosen but a ``${ENV}`` reference of
        ``transport.api_key``/``transport.headers`` is unset (a handshake without it would only
        fail with an opaque HTTP 401).
    """
    from ..graph.model import Secret
    from .reporting import UserFacingError

    settings = graph.transport
    secrets = {f"transport.headers.{name}": value for name, value in settings.headers.items()
               if isinstance(value, Secret)}
    if settings.api_key is not None:
        secrets["transport.api_key"] = settings.api_key
    missing = {field: names for field, secret in secrets.items() if (names := secret.missing(environ))}
    kind = transport or settings.type
    notice = None
    if kind is None:
        configured = (bool(environ.get("OPENAI_API_KEY")) or bool(settings.headers) or url or settings.url
                      or (settings.api_key is not None and "transport.api_key" not in missing))
        kind = "openai" if configured else "simulator"
        notice = SIMULATOR_NOTICE if kind == "simulator" else None
    if kind == "simulator":
        from ..transports import Simulator, SimulatorTransport

        return SimulatorTransport(Simulator(realtime_factor=sim_speed)), notice
    if missing:
        names = tuple(sorted({name for unset in missing.values() for name in unset}))
        plural = len(names) > 1
        raise UserFacingError(f"environment variable{'s' if plural else ''} {', '.join(names)} "
                              f"{'are' if plural else 'is'} not set (needed by {', '.join(sorted(missing))})")
    from ..transports import OpenAITransport

    api_key = settings.api_key.reveal(environ) if settings.api_key is not None else None
    headers = {name: value if isinstance(value, str) else value.reveal(environ)
               for name, value in settings.headers.items()} or None
    return OpenAITransport(url=url or settings.url, api_key=api_key, headers=headers), None


def _execute(path: Path, options: dict[str, Any]) -> int:
    from .reporting import EXIT_INTERRUPTED, explain

    try:
        return _start(path, options)
    except KeyboardInterrupt:  # Ctrl-C before the session's own handler or during shutdown
        return EXIT_INTERRUPTED
    except Exception as exc:
        message, code = explain(_unwrap(exc))
        sys.stdout.flush()
        click.echo(f"rtgraph run: {message}", err=True)
        return code


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
