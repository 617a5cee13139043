"""How ``rtgraph run`` ends when something goes wrong: exactly what the user sees, and the exit code.

Server-side endings use a scripted simulator served from the test process (``rtgraph run`` has
no script option, so the CLI reaches it as an OpenAI-compatible ``--url``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_graph.cli.run import SIMULATOR_NOTICE
from tests.support.cli import Terminal, openai_args, rtgraph, served, version_of

pytestmark = pytest.mark.slow

CLEAN_CLOSE = "- actions:\n    - disconnect: {code: 1000}\n"


def test_a_clean_close_during_a_say_turn_is_reported_once_by_the_printer(agents: Path) -> None:
    with served(CLEAN_CLOSE) as server:
        result = rtgraph(agents, "--no-reload", *openai_args(server), "--say", "hello", env=server)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"* session started: graph {version_of(agents)}, agent concierge",
        "you: hello",
        "! the server closed the session",
    ]
    assert result.stderr == ""  # not also "rtgraph run: session failed: ..."


def test_a_clean_close_while_nobody_waits_is_reported_the_same_way(agents: Path) -> None:
    # A typed line is sent without waiting for the answer: the close reaches only the printer.
    with served(CLEAN_CLOSE) as server, Terminal(agents, "--no-reload", *openai_args(server), env=server) as terminal:
        terminal.read_until(b"type a message and press Enter")
        terminal.type(b"hello\n")
        assert terminal.wait() == 1
    assert terminal.text.splitlines()[-2:] == ["hello", "! the server closed the session"]
    assert "rtgraph run:" not in terminal.text


def test_an_abnormal_close_is_one_line_naming_code_and_reason_once(agents: Path) -> None:
    with served("- actions:\n    - disconnect: {code: 4000, reason: boom}\n") as server:
        result = rtgraph(agents, "--no-reload", *openai_args(server), "--say", "hello", env=server)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "you: hello"
    assert result.stderr == "rtgraph run: connection lost: realtime connection closed abnormally (code 4000: boom)\n"


def test_an_input_wav_that_is_not_a_wav_fails_before_connecting(agents: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n")
    result = rtgraph(agents, "--sim-speed", "0", "--input-wav", text)
    assert result.returncode == 1
    assert result.stdout == ""  # no simulator notice, no session started
    assert result.stderr == f"rtgraph run: {text}: not a readable WAV file (file does not start with RIFF id)\n"


def test_an_unwritable_output_wav_is_one_line_without_a_traceback(agents: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "answer.wav"
    result = rtgraph(agents, "--sim-speed", "0", "--say", "hello", "--output-wav", target)
    assert result.returncode == 1
    # Not followed by "Exception ignored in: <function Wave_write.__del__ ...>" and its traceback.
    assert result.stderr == f"rtgraph run: {target}: cannot write WAV: No such file or directory\n"


AZURE = """\
transport:
  type: openai
  url: ws://127.0.0.1:9/openai/v1/realtime
  headers:
    api-key: "${AZURE_KEY}"
"""


def test_an_unset_header_reference_is_named_instead_of_a_401(agents: Path) -> None:
    graph = agents / "graph.yaml"
    line = len(graph.read_text().splitlines()) + 5  # the api-key line
    graph.write_text(graph.read_text() + AZURE)
    result = rtgraph(agents, "--say", "hello")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{graph}:{line}:14: warning RG502: environment variable AZURE_KEY is not set and has no default",
        "  hint: export AZURE_KEY=... or write ${AZURE_KEY:-default}",
        "0 errors, 1 warning",
        "rtgraph run: environment variable AZURE_KEY is not set (needed by transport.headers.api-key)",
    ]


def test_an_unset_api_key_reference_is_named_when_the_openai_transport_is_chosen(agents: Path) -> None:
    graph = agents / "graph.yaml"
    graph.write_text(graph.read_text() + 'transport:\n  api_key: "${AZURE_KEY}"\n')
    result = rtgraph(agents, "--url", "ws://127.0.0.1:9/v1/realtime", "--say", "hello",
                     env={"OPENAI_API_KEY": "sk-not-this-one"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "rtgraph run: environment variable AZURE_KEY is not set (needed by transport.api_key)")


def test_warnings_are_shown_and_the_run_goes_on(agents: Path) -> None:
    graph = agents / "graph.yaml"
    line = len(graph.read_text().splitlines()) + 2  # the api_key line
    graph.write_text(graph.read_text() + 'transport:\n  api_key: "${AZURE_KEY}"\n')
    result = rtgraph(agents, "--sim-speed", "0", "--say", "hello")  # no key set: the simulator
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{graph}:{line}:12: warning RG502: environment variable AZURE_KEY is not set and has no default",
        "  hint: export AZURE_KEY=... or write ${AZURE_KEY:-default}",
        "0 errors, 1 warning",
    ]
    assert result.stdout.splitlines()[:3] == [
        SIMULATOR_NOTICE, f"* session started: graph {version_of(agents)}, agent concierge", "you: hello"]


def test_an_unknown_start_agent_is_one_line(agents: Path) -> None:
    result = rtgraph(agents, "--agent", "nobody", "--say", "hello")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "rtgraph run: no agent named 'nobody'; agents: booking, concierge, weather\n"


def test_invalid_definitions_list_every_located_issue(agents: Path) -> None:
    (agents / "weather.yaml").write_text((agents / "weather.yaml").read_text() + "voice: ash\n")
    result = rtgraph(agents, "--say", "hello")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "rtgraph run: invalid definitions:"
    assert lines[1].startswith(f"{agents / 'weather.yaml'}:13:1: error RG111: ")
    assert lines[-1] == "1 error, 0 warnings"
