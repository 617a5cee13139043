"""``rtgraph call URL --sip`` against a real ``rtgraph serve`` subprocess: both real processes, the
simulated Calls API and sideband served by the call command on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serving import ServeProcess

pytestmark = pytest.mark.slow

FOLDER = Path(__file__).parents[1] / "serve" / "sip_phone"
SECRET = "whsec_" + "c2lwLWNsaS10ZXN0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_call_sip_places_a_call_through_serve(tmp_path: Path) -> None:
    script = tmp_path / "call.yaml"
    script.write_text("- actions: [{say: {text: Hi., audio_ms: 300}}, {call: {tool: transfer_to_sales}}]\n"
                      "- actions: [{say: {text: Bye., audio_ms: 300}}, {call: {tool: hangup}}]\n")
    api, sideband = free_port(), free_port()
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{api}/v1", "OPENAI_API_KEY": "sk-test",
           "SIP_TEST_WEBHOOK_SECRET": SECRET, "OPENAI_WEBHOOK_SECRET": SECRET}
    with ServeProcess(FOLDER, "--url", f"ws://127.0.0.1:{sideband}/v1/realtime", "--no-reload", env=env) as server:
        done = subprocess.run([sys.executable, "-m", "realtime_graph", "call", server.url, "--sip",
                               "--header", "From=sip:+14155550100@pstn", "--script", str(script),
                               "--api-port", str(api), "--sideband-port", str(sideband), "--timeout", "20"],
                              capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        server.wait_for("outcome=hung_up")
    lines = done.stdout.splitlines()
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert lines[0] == f"rtgraph call: Calls API http://127.0.0.1:{api}/v1, sideband ws://127.0.0.1:{sideband}/v1/realtime"
    assert lines[1].startswith("rtgraph call: webhook rtc_") and lines[1].endswith(': HTTP 200 {"status":"received"}')
    assert lines[2:] == [
        "rtgraph call: call accepted: model gpt-realtime, voice marin, 3 tools (lookup_order, hangup, "
        "transfer_to_sales), instructions 'You answer the phone for Acme. The caller is unknown.'",
        "rtgraph call: sideband attached",
        "rtgraph call: assistant: Hi.",
        "rtgraph call: tool call: transfer_to_sales {}",
        "rtgraph call: transferred (SIP REFER) to tel:+14155550123",
        "rtgraph call: assistant: Bye.",
        "rtgraph call: tool call: hangup {}",
        "rtgraph call: call hung up",
    ]


def test_call_sip_without_a_secret_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_WEBHOOK_SECRET"}
    done = subprocess.run([sys.executable, "-m", "realtime_graph", "call", "http://127.0.0.1:9/", "--sip",
                           "--api-port", "0", "--sideband-port", "0"], capture_output=True, text=True, timeout=30,
                          env=env)
    assert done.returncode == 1
    assert done.stdout == ("rtgraph call: error: OPENAI_WEBHOOK_SECRET is not set; export the webhook secret the "
                           "server verifies with\n")


def test_call_sip_refuses_what_a_sip_call_cannot_carry() -> None:
    done = subprocess.run([sys.executable, "-m", "realtime_graph", "call", "http://127.0.0.1:9/", "--sip",
                           "--say", "hello"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert ("--say does not apply to --sip: the caller's audio travels on the SIP/RTP leg, which the "
            "simulation does not have; script the model with --script") in done.stderr
    none = subprocess.run([sys.executable, "-m", "realtime_graph", "call", "http://127.0.0.1:9/"],
                          capture_output=True, text=True, timeout=30)
    assert none.returncode == 2 and "choose a call mode: --twilio, --sip" in none.stderr
