"""``rtgraph call URL --sip``: place a simulated SIP call against a running ``rtgraph serve``.

No phone and no OpenAI account: this process plays OpenAI's side of a SIP call on loopback, the
fake Calls API (``--api-port``) and the simulator's sideband WebSocket (``--sideband-port``),
sharing one :class:`~realtime_graph.transports.simulator.CallBook`. Start the server pointed at
them (docs/telephony.md)::

    OPENAI_BASE_URL=http://127.0.0.1:8091/v1 OPENAI_API_KEY=sk-test OPENAI_WEBHOOK_SECRET=whsec_... \\
        rtgraph serve agents.d --url ws://127.0.0.1:8092/v1/realtime
    rtgraph call http://127.0.0.1:8080/ --sip --header X-Line=billing --script call.yaml

then it registers a pending call with the given SIP headers, POSTs the signed
``realtime.call.incoming`` webhook to ``URL/openai/webhook`` and prints what the server does with
the call (accept with its tools and voice, what the model says and calls, refer, hangup, reject),
until the call ends or ``--timeout``. The simulated model follows ``--script`` (a simulator
script, docs/simulator.md); audio stays on the (absent) SIP leg, so the caller does not speak.

Exit codes: 0 the call was accepted and ended (hung up or transferred) or the timeout passed while
it was up; 1 the webhook was refused, the call was rejected, or never accepted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ("SipCallOptions", "check", "parse_header", "run", "run_sip_call")

DEFAULT_API_PORT = 8091
DEFAULT_SIDEBAND_PORT = 8092


@dataclass(frozen=True, slots=True)
class SipCallOptions:
    """What ``rtgraph call --sip`` was asked to do."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    script: Path | None = None
    api_port: int = DEFAULT_API_PORT
    sideband_port: int = DEFAULT_SIDEBAND_PORT
    timeout: float = 30.0
    secret_env: str = "OPENAI_WEBHOOK_SECRET"


def _describe_accept(body: Any) -> str:
    if not isinstance(body, dict):
        return "accept"
    tools = [t.get("name", "?") for t in body.get("tools") or [] if isinstance(t, dict)]
    voice = ((body.get("audio") or {}).get("output") or {}).get("voice")
    parts = [f"model {body.get('model')}"] + ([f"voice {voice}"] if voice else [])
    parts.append(f"{len(tools)} tool{'s' if len(tools) != 1 else ''}" + (f" ({', '.join(tools)})" if tools else ""))
    instructions = str(body.get("instructions") or "").strip().splitlines()
    if instructions:
        parts.append(f"instructions {instructions[0][:80]!r}")
    return "call accepted: " + ", ".join(parts)


def _watching_simulator(script: Path | None, book: Any, say: Callable[[str], None]) -> Any:
    """A simulator that prints what the model says and which tools it calls."""
    from ..transports.simulator import Simulator

    class _Engine:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def open(self) -> list[dict[str, Any]]:
            say("sideband attached")
            return list(self._inner.open())

        def receive(self, event: Any) -> list[dict[str, Any]]:
            return self._seen(self._inner.receive(event))

        def next_batch(self) -> Any:
            batch = self._inner.next_batch()
            if batch is not None:
                self._seen(batch.events)
            return batch

        def _seen(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for event in events:
                kind = event.get("type")
                if kind == "response.output_audio_transcript.done":
                    say(f"assistant: {event.get('transcript', '')}")
                elif kind == "response.function_call_arguments.done":
                    say(f"tool call: {event.get('name')} {event.get('arguments')}")
            return events

    class _Simulator(Simulator):
        def engine(self, model: str | None, call_id: str | None) -> Any:
            return _Engine(super().engine(model, call_id))

    return _Simulator(script=script, realtime_factor=1.0, calls=book)


async def _place(options: SipCallOptions, say: Callable[[str], None]) -> int:
    import anyio

    from ..telephony.fakes import FakeCallsApi
    from ..transports.simulator import CallBook

    secret = os.environ.get(options.secret_env)
    if not secret:
        say(f"error: {options.secret_env} is not set; export the webhook secret the server verifies with")
        return 1
    book = CallBook()
    api = FakeCallsApi(api_key=os.environ.get("OPENAI_API_KEY") or "sk-test", calls=book)
    simulator = _watching_simulator(options.script, book, say)
    async with api.serve(port=options.api_port) as base, simulator.serve(port=options.sideband_port) as sideband:
        say(f"Calls API {base}, sideband {sideband}")
        call_id = api.add_call(sip_headers=options.headers)
        webhook = options.url.rstrip("/") + "/openai/webhook"
        try:
            response = await api.send_incoming(webhook, call_id, secret=secret)
        except Exception as exc:  # httpx2's connect errors: one line, not a traceback
            say(f"error: could not POST the webhook to {webhook}: {type(exc).__name__}: {exc}")
            return 1
        say(f"webhook {call_id}: HTTP {response.status_code} {response.text.strip()[:200]}")
        if response.status_code != 200:
            return 1
        record = book.calls[call_id]
        reported = 0
        accepted = False
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline:
            for action, body in api.actions(call_id)[reported:]:
                reported += 1
                if action == "accept":
                    accepted = True
                    say(_describe_accept(body))
                elif action == "refer":
                    say(f"transferred (SIP REFER) to {body.get('target_uri') if isinstance(body, dict) else body}")
                elif action == "reject":
                    say(f"call rejected: SIP {body.get('status_code') if isinstance(body, dict) else 603}")
                elif action == "hangup":
                    say("call hung up")
            if record.state in ("ended", "rejected"):
                break
            await anyio.sleep(0.05)
        else:
            say(f"still up after {options.timeout:g}s; ending the simulated call" if accepted
                else f"the server did not accept the call within {options.timeout:g}s")
        return 0 if accepted and record.state != "rejected" else 1


def run_sip_call(options: SipCallOptions, echo: Callable[[str], None]) -> int:
    """Place the simulated call; ``echo`` prints one line. Returns the exit code."""
    import anyio

    def say(line: str) -> None:
        echo(f"rtgraph call: {line}")

    return anyio.run(_place, options, say)


def check(options: dict[str, Any]) -> None:
    """Usage errors for what a SIP call cannot carry (``rtgraph call`` calls this first)."""
    import click

    for name, flag in (("input_wav", "--input-wav"), ("dtmf", "--dtmf"), ("say", "--say")):
        if options.get(name):
            raise click.UsageError(f"{flag} does not apply to --sip: the caller's audio travels on the SIP/RTP "
                                   f"leg, which the simulation does not have; script the model with --script")


def run(url: str, options: dict[str, Any]) -> int:
    """``rtgraph call URL --sip``: the ``From``/``To`` headers from ``--from``/``--to`` unless given."""
    import click

    headers = list(options.get("headers") or ())
    given = {name.lower() for name, _ in headers}
    for name, number in (("From", options.get("caller")), ("To", options.get("callee"))):
        if number and name.lower() not in given:
            headers.append((name, f"sip:{number}@sip.example.invalid"))
    sip = SipCallOptions(url=url, headers=tuple(headers), script=options.get("script"),
                         api_port=options.get("api_port", DEFAULT_API_PORT),
                         sideband_port=options.get("sideband_port", DEFAULT_SIDEBAND_PORT),
                         timeout=options.get("timeout", 30.0),
                         secret_env=options.get("secret_env", "OPENAI_WEBHOOK_SECRET"))
    return run_sip_call(sip, click.echo)


def parse_header(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (or ``NAME: VALUE``) → the pair; raises ValueError otherwise."""
    for sep in ("=", ":"):
        name, found, value = text.partition(sep)
        if found and name.strip():
            return name.strip(), value.strip()
    raise ValueError(f"expected NAME=VALUE, got {json.dumps(text)}")
