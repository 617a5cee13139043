"""``rtgraph call URL --twilio|--sip``: place a simulated phone call against a running ``rtgraph serve``.

The developer loop without a phone. Each mode lives in its own module with ``check(options)``
(raises ``click.UsageError``) and ``run(url, options) -> exit code``, and is listed once in
:data:`MODES`; the mode's flag (``--twilio``, ``--sip``) and its help come from that table, so
adding a mode is one line there.

Common options (a mode rejects the ones its channel cannot carry, with a usage error):
``--input-wav F`` (repeatable, played in order as the caller), ``--dtmf DIGITS`` (repeatable,
pressed after the audio), ``--say TEXT``, ``--from``/``--to`` (the caller and the number called),
``--timeout``. Twilio-only: ``--output-wav``, ``--auth-token-env``. SIP-only: ``--header
NAME=VALUE``, ``--script``, ``--api-port``, ``--sideband-port``, ``--secret-env``. Exit codes: 0
the call ran, 1 refused or failed (one line), 2 usage.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ("MODES", "call")

MODES: dict[str, tuple[str, str]] = {
    # mode -> (module with check(options) and run(url, options) -> int, help of the --<mode> flag)
    "twilio": ("realtime_graph.cli.call_twilio",
               "Be Twilio: signed POST URL/twilio/voice, then the media stream its TwiML names "
               "(audio and DTMF only; needs the server's auth token in $TWILIO_AUTH_TOKEN or --auth-token-env)."),
    "sip": ("realtime_graph.cli.call_sip",
            "Be OpenAI's side of a SIP call: a simulated Calls API and sideband on loopback, a signed "
            "POST URL/openai/webhook (the server must point at them; docs/telephony.md)."),
}


def _mode_flags(fn: Callable[..., Any]) -> Callable[..., Any]:
    for mode, (_, help_) in reversed(MODES.items()):
        fn = click.option(f"--{mode}", "mode", flag_value=mode, help=help_)(fn)
    return fn


def _headers(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from .call_sip import parse_header

    try:
        return tuple(parse_header(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@_mode_flags
@click.option("--input-wav", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="Mono 16-bit WAV the caller speaks (any rate; repeatable, in order).")
@click.option("--dtmf", multiple=True, metavar="DIGITS", help="Keys the caller presses after the audio, e.g. "
              "--dtmf 1 or --dtmf '1#' (repeatable; quote # in shells).")
@click.option("--say", multiple=True, metavar="TEXT", help="A text turn (only for channels that carry text).")
@click.option("--output-wav", type=click.Path(dir_okay=False, path_type=Path),
              help="Twilio: write the assistant's audio (as received) to this WAV.")
@click.option("--auth-token-env", default="TWILIO_AUTH_TOKEN", show_default=True, metavar="NAME",
              help="Twilio: environment variable holding the auth token the server checks signatures with.")
@click.option("--from", "caller", default="+15550001111", show_default=True, help="The caller's number (From).")
@click.option("--to", "callee", default="+15550002222", show_default=True, help="The number called (To).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True, metavar="SECONDS",
              help="How long to wait (Twilio: for each reply to start; SIP: for the call to end).")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE", callback=_headers,
              help="SIP: a header of the INVITE (repeatable), e.g. --header X-Line=billing.")
@click.option("--script", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="SIP: the simulator script the simulated model follows (docs/simulator.md).")
@click.option("--api-port", type=click.IntRange(0, 65535), default=8091, show_default=True,
              help="SIP: port of the simulated Calls API (serve needs OPENAI_BASE_URL=http://127.0.0.1:PORT/v1).")
@click.option("--sideband-port", type=click.IntRange(0, 65535), default=8092, show_default=True,
              help="SIP: port of the simulated sideband (serve needs --url ws://127.0.0.1:PORT/v1/realtime).")
@click.option("--secret-env", default="OPENAI_WEBHOOK_SECRET", show_default=True, metavar="NAME",
              help="SIP: environment variable holding the webhook secret to sign with.")
def call(url: str, mode: str | None, **options: Any) -> None:
    """Place a simulated call to the `rtgraph serve` at URL (e.g. http://127.0.0.1:8080/)."""
    import sys

    from .reporting import reported

    if mode is None:
        raise click.UsageError(f"choose a call mode: {', '.join('--' + m for m in MODES)}")
    module = importlib.import_module(MODES[mode][0])
    module.check(options)
    run: Callable[[str, dict[str, Any]], int] = module.run
    sys.exit(reported("call", lambda: run(url, options)))
