"""``rtgraph call URL --sip``: place a simulated phone call against a running ``rtgraph serve``.

Each mode lives in its own module (``call_sip.py``); this command only parses options and
dispatches. Exit codes: 0 the call went through, 1 refused/rejected/never answered, 2 usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

__all__ = ("call",)


def _headers(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from .call_sip import parse_header

    try:
        return tuple(parse_header(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@click.option("--sip", is_flag=True, required=True,
              help="A SIP call through a simulated OpenAI Calls API (signed webhook, accept, sideband).")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE", callback=_headers,
              help="A SIP header of the INVITE (repeatable), e.g. --header X-Line=billing.")
@click.option("--script", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Simulator script the simulated model follows (docs/simulator.md).")
@click.option("--api-port", type=click.IntRange(0, 65535), default=8091, show_default=True,
              help="Port of the simulated Calls API (serve needs OPENAI_BASE_URL=http://127.0.0.1:PORT/v1).")
@click.option("--sideband-port", type=click.IntRange(0, 65535), default=8092, show_default=True,
              help="Port of the simulated sideband (serve needs --url ws://127.0.0.1:PORT/v1/realtime).")
@click.option("--timeout", type=click.FloatRange(min=0), default=30.0, show_default=True, metavar="SECONDS",
              help="Give up waiting for the call to end after this long.")
@click.option("--secret-env", default="OPENAI_WEBHOOK_SECRET", show_default=True, metavar="NAME",
              help="Environment variable holding the webhook secret to sign with.")
def call(url: str, sip: bool, **options: Any) -> None:
    """Place a simulated call against a running `rtgraph serve` at URL (docs/telephony.md)."""
    from .call_sip import SipCallOptions, run_sip_call

    sys.exit(run_sip_call(SipCallOptions(url=url, **options), click.echo))
