"""``rtgraph run --transport openai --url <faulty simulator>``: a broken server ends the run with one
clear line and exit 1, never exit 3 ("internal error"), never a hang (subprocess timeout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_graph.transports.simulator.faults import NoSessionCreated, SendFrames, deep_json
from tests.support.cli import openai_args, rtgraph, served

pytestmark = pytest.mark.slow

GRAPH = """kind: graph
start: assistant
run:
  timeouts: {first_event: 300ms, response: 500ms}
"""
AGENT = "kind: agent\nname: assistant\ninstructions: You are helpful.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "agents.d"
    root.mkdir()
    (root / "graph.yaml").write_text(GRAPH, encoding="utf-8")
    (root / "assistant.yaml").write_text(AGENT, encoding="utf-8")
    return root


def test_no_session_created_ends_with_one_line_and_exit_1(folder: Path) -> None:
    with served(None, faults=(NoSessionCreated(),)) as server:
        result = rtgraph(folder, "--no-reload", *openai_args(server), "--say", "hello", env=server, timeout=30)
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        1, "", ["rtgraph run: could not connect: the realtime server sent no session.created within 0.3s of "
                "connecting (run.timeouts.first_event)"])


def test_a_deeply_nested_frame_ends_with_one_line_and_exit_1(folder: Path) -> None:
    with served(None, faults=(SendFrames((deep_json(),), on="response"),)) as server:
        result = rtgraph(folder, "--no-reload", *openai_args(server), "--say", "hello", env=server, timeout=30)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr + result.stdout
    assert result.stderr.splitlines()[-1:] == [
        "rtgraph run: transport error: the realtime server sent a JSON frame nested too deeply to decode"]
