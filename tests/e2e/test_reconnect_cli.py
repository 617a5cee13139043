"""``rtgraph run`` against a simulator that drops the connection mid-answer: one line per
reconnect, the answer still arrives, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_graph.transports.simulator.faults import Drop
from tests.support.cli import openai_args, rtgraph, served

pytestmark = pytest.mark.slow

GRAPH = """kind: graph
start: assistant
run:
  reconnect: {backoff_initial: 10ms, backoff_max: 50ms}
"""
AGENT = "kind: agent\nname: assistant\ninstructions: You are helpful.\n"


def test_a_drop_mid_answer_prints_one_reconnect_line_and_carries_on(tmp_path: Path) -> None:
    folder = tmp_path / "agents.d"
    folder.mkdir()
    (folder / "graph.yaml").write_text(GRAPH, encoding="utf-8")
    (folder / "assistant.yaml").write_text(AGENT, encoding="utf-8")
    drop = Drop(after="response.output_audio.delta", count=1, code=1012, reason="service restart")
    with served(None, faults=(drop,)) as server:
        result = rtgraph(folder, "--no-reload", *openai_args(server), "--say", "hello", env=server, timeout=30)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1:] == [
        "you: hello",
        "* reconnected after close 1012 (service restart) (attempt 1): replayed 1 message; asked for the "
        "interrupted response again",
        "assistant: You said: hello"]
