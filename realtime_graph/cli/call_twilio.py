"""``rtgraph call URL --twilio``: be Twilio against a running ``rtgraph serve``.

Dials ``URL/twilio/voice`` with a valid ``X-Twilio-Signature`` (the auth token from the
environment), opens the media stream the TwiML names (with its ``<Parameter>`` s, as Twilio does),
plays each ``--input-wav`` as the caller at real-time pace in 20 ms µ-law frames, presses each
``--dtmf`` key, and echoes marks as the reply "plays". Twilio carries no text, so what it can
print is what Twilio observes: the audio received per reply, marks and ``clear`` s.
"""

from __future__ import annotations

import os
import secrets
import wave
from pathlib import Path
from typing import Any

import click

from .reporting import EXIT_ERROR, EXIT_OK, UserFacingError

__all__ = ("run",)

_QUIET_S = 0.6
"""A reply has ended once no new audio arrived for this long and every mark was echoed (played)."""


def check(options: dict[str, Any]) -> None:
    """Usage errors: what a Twilio call cannot carry, or nothing to do.

    :raises click.UsageError:
    """
    for name, flag in (("headers", "--header"), ("script", "--script")):
        if options.get(name):
            raise click.UsageError(f"{flag} applies to --sip only: a Twilio call carries no SIP headers and its "
                                   f"model is whatever the server runs")
    if options.get("say"):
        raise click.UsageError("--twilio carries audio and keypad presses only: use --input-wav FILE and/or "
                               "--dtmf DIGITS (--say needs a channel with text)")
    wavs: tuple[Path, ...] = options.get("input_wav") or ()
    digits = "".join(options.get("dtmf") or ())
    if not wavs and not digits:
        raise click.UsageError("give the caller something to do: --input-wav FILE and/or --dtmf DIGITS")
    bad = sorted({d for d in digits if d not in "0123456789*#ABCD"})
    if bad:
        raise click.UsageError(f"--dtmf: {''.join(bad)!r} are not keypad digits (0-9, *, #, A-D)")


def run(url: str, options: dict[str, Any]) -> int:
    """Place the call; the exit code (0 ran, 1 refused or closed with an error)."""
    import anyio

    wavs: tuple[Path, ...] = options.get("input_wav") or ()
    digits = "".join(options.get("dtmf") or ())
    env = options.get("auth_token_env") or "TWILIO_AUTH_TOKEN"
    token = os.environ.get(env)
    if not token:
        raise UserFacingError(f"set {env} to the Twilio auth token the server checks signatures with "
                              f"(its telephony.twilio_auth_token, default ${{TWILIO_AUTH_TOKEN}})")
    voice = url.rstrip("/") + "/twilio/voice"
    return anyio.run(_call, voice, token, wavs, digits, options)


async def _call(voice: str, token: str, wavs: tuple[Path, ...], digits: str, options: dict[str, Any]) -> int:
    from ..telephony.fakes import FakeTwilioPeer
    from ..telephony.fakes.twilio_peer import wav_to_mulaw

    timeout = float(options.get("timeout") or 15.0)
    call_sid = "CA" + secrets.token_hex(16)
    audio = [(path, _read(path, wav_to_mulaw)) for path in wavs]
    click.echo(f"rtgraph call: dialing {voice} (CallSid {call_sid})")
    try:
        async with FakeTwilioPeer.dial(voice, auth_token=token, call_sid=call_sid,
                                       form={"From": options["caller"], "To": options["callee"]}) as peer:
            click.echo(f"twilio: stream {peer.stream_sid} open")
            await _reply(peer, timeout, first=True)  # a greeting, if the agent speaks first
            for path, mulaw in audio:
                click.echo(f"caller: {path.name} ({len(mulaw) / 8000:.2f} s)")
                await peer.send_audio(mulaw)
                if await _reply(peer, timeout) is None:
                    break
            for digit in digits:
                click.echo(f"caller: dtmf {digit}")
                await peer.send_dtmf(digit)
                if await _reply(peer, timeout) is None:
                    break
            code = peer.ws.close_code
            if code is None:
                click.echo("caller: hangs up")
                await peer.stop()
    except ConnectionError as exc:
        raise UserFacingError(str(exc)) from None
    except RuntimeError as exc:  # the webhook was not answered with a stream
        raise UserFacingError(str(exc)) from None
    media = peer.of_type("media")
    click.echo(f"rtgraph call: {len(media)} frames ({len(peer.audio) / 8000:.2f} s), "
               f"{len(peer.of_type('mark'))} marks, {len(peer.of_type('clear'))} clears received")
    if options.get("output_wav"):
        _write(options["output_wav"], peer.audio)
        click.echo(f"rtgraph call: assistant audio written to {options['output_wav']}")
    if code is not None and code != 1000:
        click.echo(f"rtgraph call: the server closed the stream: {code} {peer.ws.close_reason}", err=True)
        return EXIT_ERROR
    return EXIT_OK


async def _reply(peer: Any, timeout: float, *, first: bool = False) -> float | None:
    """Wait for the assistant's reply to start (up to ``timeout``; 1 s for a greeting) and to finish
    playing; prints and returns its seconds of audio (None once the server closed the stream)."""
    import anyio

    media, clears = len(peer.of_type("media")), len(peer.of_type("clear"))
    with anyio.move_on_after(1.0 if first else timeout):
        while len(peer.of_type("media")) == media and peer.ws.close_code is None:
            await peer.line_silence()  # the server's VAD needs the silence after the words
    if len(peer.of_type("media")) == media:
        if peer.ws.close_code is not None:
            click.echo(f"twilio: stream closed by the server ({peer.ws.close_code} {peer.ws.close_reason})")
            return None
        if not first:
            click.echo("assistant: (no audio)")
        return 0.0
    seen, quiet = len(peer.received), anyio.current_time()
    while peer.ws.close_code is None:
        await peer.line_silence()  # the server's VAD needs the silence after the words
        if len(peer.received) != seen:
            seen, quiet = len(peer.received), anyio.current_time()
        elif anyio.current_time() - quiet >= _QUIET_S and len(peer.echoed) >= len(peer.of_type("mark")):
            break
    frames = peer.of_type("media")[media:]
    seconds = sum(len(_payload(m)) for m in frames) / 8000
    cut = " (interrupted: clear)" if len(peer.of_type("clear")) > clears else ""
    click.echo(f"assistant: {seconds:.2f} s of audio in {len(frames)} frames{cut}")
    return seconds


def _payload(message: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(message["media"]["payload"])


def _read(path: Path, convert: Any) -> bytes:
    try:
        data: bytes = convert(path)
    except (ValueError, wave.Error, EOFError) as exc:
        raise UserFacingError(f"--input-wav {path}: {exc}") from None
    return data


def _write(path: Path, mulaw: bytes) -> None:
    from ..audio import ulaw_decode

    with wave.open(os.fspath(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(ulaw_decode(mulaw))
