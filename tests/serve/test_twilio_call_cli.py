"""``rtgraph call URL --twilio`` as a real subprocess against a real ``rtgraph serve`` (in a thread)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from realtime_graph.config import load_string
from tests.support.serving import serving_in_thread
from tests.support.simulated import simulator

pytestmark = pytest.mark.slow

WAV = Path(__file__).resolve().parents[1] / "scenarios" / "audio" / "stop_please.wav"
GRAPH = """kind: graph
start: menu
---
kind: agent
name: menu
instructions: Menu.
dtmf:
  "0": {say: "We are open nine to five."}
"""
SCRIPT = """
- actions:
    - say: {text: "Hello caller.", audio_ms: 400}
- actions:
    - say: {text: "We are open nine to five.", audio_ms: 300}
"""


def _call(*args: str, token: str | None = "cli-token") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_AUTH_TOKEN"}
    if token is not None:
        env["TWILIO_AUTH_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "realtime_graph", "call", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_call_plays_the_wav_presses_a_key_and_reports_what_twilio_observes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "cli-token")
    transport, sim = simulator(SCRIPT)
    out = tmp_path / "reply.wav"
    with serving_in_thread(load_string(GRAPH, import_entrypoints=False), transport=transport) as url:
        done = _call(url, "--twilio", "--input-wav", str(WAV), "--dtmf", "0", "--output-wav", str(out),
                     "--timeout", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(rf"rtgraph call: dialing {re.escape(url)}twilio/voice \(CallSid CA[0-9a-f]{{32}}\)", lines[0])
    assert lines[1:] == [
        "twilio: stream MZ00000000000000000000000000000000 open",
        "caller: stop_please.wav (0.70 s)",
        "assistant: 0.40 s of audio in 20 frames",
        "caller: dtmf 0",
        "assistant: 0.30 s of audio in 15 frames",
        "caller: hangs up",
        "rtgraph call: 35 frames (0.70 s), 35 marks, 0 clears received",
        f"rtgraph call: assistant audio written to {out}",
    ]
    with wave.open(str(out)) as reply:
        assert (reply.getframerate(), reply.getnchannels(), reply.getnframes()) == (8000, 1, 5600)
    assert sim.received_of("response.create")[0]["response"] == {  # the first reply was VAD's own
        "instructions": "Say exactly the following, and nothing else: We are open nine to five."}


def test_refusals_are_one_line_and_usage_errors_exit_2(monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "cli-token")
    with serving_in_thread(load_string(GRAPH, import_entrypoints=False)) as url:
        wrong = _call(url, "--twilio", "--dtmf", "1", token="not-the-token")
    assert wrong.returncode == 1
    assert wrong.stderr == ("rtgraph call: /twilio/voice answered 403: forbidden: X-Twilio-Signature does not match: "
                            "wrong auth token, or the URL differs from the one configured in Twilio (check the public "
                            "scheme and host behind a proxy)\n")
    unset = _call("http://127.0.0.1:9/", "--twilio", "--dtmf", "1", token=None)
    assert (unset.returncode, unset.stderr) == (1, "rtgraph call: set TWILIO_AUTH_TOKEN to the Twilio auth token the "
                                                   "server checks signatures with (its telephony.twilio_auth_token, "
                                                   "default ${TWILIO_AUTH_TOKEN})\n")
    say = _call("http://127.0.0.1:9/", "--twilio", "--say", "hi")
    assert say.returncode == 2
    assert say.stderr.endswith("Error: --twilio carries audio and keypad presses only: use --input-wav FILE and/or "
                               "--dtmf DIGITS (--say needs a channel with text)\n")
    header = _call("http://127.0.0.1:9/", "--twilio", "--dtmf", "1", "--header", "X-Line=billing")
    assert header.returncode == 2
    assert header.stderr.endswith("Error: --header applies to --sip only: a Twilio call carries no SIP headers and "
                                  "its model is whatever the server runs\n")
    nomode = _call("http://127.0.0.1:9/", "--dtmf", "1")
    assert nomode.returncode == 2 and nomode.stderr.endswith("Error: choose a call mode: --twilio, --sip\n")
    unreachable = _call("http://127.0.0.1:9/", "--twilio", "--dtmf", "1")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("rtgraph call: cannot reach http://127.0.0.1:9/twilio/voice: ")
