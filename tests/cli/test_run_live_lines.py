"""The lines ``rtgraph run`` prints for what happens during a call: hot reload (applied and
rejected, with stdin kept open as in a real session), server errors, barge-in and guardrails."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_graph.cli.run import SIMULATOR_NOTICE
from tests.support.cli import Running, openai_args, rtgraph, served, version_of

pytestmark = pytest.mark.slow


def test_reload_lines_while_the_session_runs(agents: Path) -> None:
    weather = agents / "weather.yaml"
    with Running(agents, "--sim-speed", "0") as run:
        run.read_until(f"* session started: graph {version_of(agents)}, agent concierge")
        weather.write_text(weather.read_text().replace("one or two sentences", "one sentence"))
        edited = version_of(agents)
        run.read_until(f"* graph {edited} applied")
        weather.write_text(weather.read_text() + "voice: ash\n")
        rejected = run.read_until("1 error, 0 warnings")
        run.send("hello")
        run.read_until("concierge: You said: hello")  # the call goes on under the last good graph
        code, stderr = run.finish()
    assert rejected[0] == f"! reload rejected; still running graph {edited}"
    assert rejected[1].startswith(f"{weather}:13:1: error RG111: ")
    assert len(rejected) == 4 and rejected[2].startswith("  hint: ")
    assert (code, stderr) == (0, "")
    assert run.lines[0] == SIMULATOR_NOTICE


def test_server_error_and_barge_in_lines(agents: Path) -> None:
    script = """\
- match: fail
  actions:
    - error: {code: server_error, message: "boom", type: server_error}
    - say: "Sorry, try again."
- match: story
  actions:
    - say: {text: "Let me tell you a rather long story about the sea.", audio_ms: 1000}
    - barge_in: {at_ms: 400}
"""
    # Paced in real time: a barge-in interrupts audio that is still playing.
    with served(script, realtime_factor=1.0) as server:
        result = rtgraph(agents, "--no-reload", *openai_args(server), "--say", "please fail",
                         "--say", "tell me a story", env=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "you: please fail",
        "! error: boom",
        "concierge: Sorry, try again.",
        "you: tell me a story",
        "concierge: Let me tell you",  # the transcript stops where the user barged in
        "* interrupted",
    ]


def test_guardrail_line(agents: Path) -> None:
    # The simulator repeats the text, so the graph's deny-pattern guardrail trips on the reply.
    result = rtgraph(agents, "--no-reload", "--sim-speed", "0", "--say", "my card is 4111 1111 1111 1111")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2:5] == [
        "you: my card is 4111 1111 1111 1111",
        "concierge: You said: my card is 4111 1111 1111 1111",
        "! guardrail tripped (no_card_numbers): You said: my card is 4111 1111 1111 1111",
    ]
