"""``rtgraph serve [PATH]``: serve the graph to many sessions (browser console, probes, metrics).

The first line printed is the URL: ``rtgraph: serving agents.d on http://127.0.0.1:8080/``.
Transport choice is the one of ``rtgraph run``. Exit codes: 0 after shutdown or a completed
drain, 1 invalid definitions or a configuration that cannot start (one line each), 2 usage,
3 internal error, 130 a second signal during the drain.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

__all__ = ("serve",)


def _start(path: Path, options: dict[str, Any]) -> int:
    import anyio

    from ..config import render_issues, validate
    from ..errors import ConfigError
    from ..serve import ServeHost, resolve_options
    from ..serve.transport_choice import choose_transport

    report = validate(path)
    if report.graph is None:
        raise ConfigError(report.issues)
    if report.warnings:
        sys.stderr.write(render_issues(report.warnings, "text") + "\n")
    graph = report.graph
    if options["model"]:
        graph = replace(graph, transport=replace(graph.transport, model=options["model"]))
    settings = resolve_options(graph.serve, environ=os.environ, host=options["host"], port=options["port"],
                               max_sessions=options["max_sessions"], drain_timeout=options["drain_timeout"],
                               token_env=options["token_env"], reload=not options["no_reload"],
                               log_format=options["log_format"], public_url=options["public_url"])
    transport, notice = choose_transport(graph, transport=options["transport"], url=options["url"],
                                         sim_speed=options["sim_speed"], environ=os.environ)
    host = ServeHost(graph, transport=transport, options=settings, path=path, log_stream=sys.stderr,
                     sideband=_sideband(graph, transport, options))

    async def main() -> int:
        async with anyio.create_task_group() as tg:
            url = await tg.start(lambda task_status: host.run(handle_signals=True, task_status=task_status))
            click.echo(f"rtgraph: serving {path} on {url}")  # the first line: scripts read the URL here
            if notice:
                click.echo(notice, err=True)
        return host.exit_code

    return anyio.run(main)


def _sideband(graph: Any, transport: Any, options: dict[str, Any]) -> Any:
    """SIP calls attach on ``--url``/``transport.url`` like every session; without one, on the
    Realtime endpoint under ``$OPENAI_BASE_URL`` (where the Calls API requests go)."""
    from ..serve.sip_channel import sideband_url
    from ..serve.transport_choice import choose_transport
    from ..transports import OpenAITransport

    if not isinstance(transport, OpenAITransport) or options["url"] or graph.transport.url:
        return None
    base = os.environ.get("OPENAI_BASE_URL")
    if not base:
        return None
    sideband, _ = choose_transport(graph, transport="openai", url=sideband_url(base), sim_speed=1.0,
                                   environ=os.environ)
    return sideband


def _execute(path: Path, options: dict[str, Any]) -> int:
    from .reporting import reported

    return reported("serve", lambda: _start(path, options))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", default="agents.d", type=click.Path(path_type=Path))
@click.option("--host", help="Address to bind (default: graph file's serve.host, else 127.0.0.1; "
              "any other address requires a token).")
@click.option("--port", type=click.IntRange(0, 65535), help="TCP port (default 8080; 0 picks a free port).")
@click.option("--max-sessions", type=click.IntRange(min=1), help="Concurrent sessions (default 100).")
@click.option("--drain-timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="After SIGTERM, how long live sessions may finish (default 30).")
@click.option("--token-env", metavar="NAME",
              help="Environment variable holding the browser token (default: serve.auth.token, else RTGRAPH_TOKEN).")
@click.option("--transport", type=click.Choice(["openai", "simulator"]), help="Where sessions run "
              "(default: graph file, else OpenAI when a key is configured, else the simulator).")
@click.option("--url", help="Realtime endpoint (OpenAI transport), e.g. an Azure GA URL.")
@click.option("--model", help="Model name (overrides the graph file).")
@click.option("--public-url", metavar="URL", help="Public base URL behind a proxy, e.g. https://voice.example.com "
              "(Twilio signatures and stream URLs; default: serve.public_url, else X-Forwarded-*/Host).")
@click.option("--no-reload", is_flag=True, help="Do not watch PATH for changes.")
@click.option("--sim-speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Simulator pacing: 1 = real time, 0 = as fast as possible.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr: text, or one JSON object per line for log shippers.")
def serve(path: Path, **options: Any) -> None:
    """Serve the graph in PATH (default ./agents.d) to browsers: console at /, probes, /metrics."""
    sys.exit(_execute(path, options))
