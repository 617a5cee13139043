"""The real ``rtgraph run`` in a subprocess: a timed-out sync tool still sleeping does not hold the
process open, and ``sys.exit`` inside a tool does not end the session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.cli import rtgraph, version_of

pytestmark = pytest.mark.slow

GRAPH = """\
kind: graph
start: helper
imports:
  allow: [slow_tools]
---
kind: agent
name: helper
instructions: Help.
tools:
  - entrypoint: slow_tools:slow_lookup
    timeout: 1s
  - entrypoint: slow_tools:quit_now
"""

TOOLS = '''\
import sys
import time


def slow_lookup() -> str:
    """Sleeps far past its timeout."""
    time.sleep(30)
    return "too late"


def quit_now() -> str:
    """Ends the interpreter, if it could."""
    sys.exit(7)
'''


def test_a_sleeping_timed_out_tool_neither_holds_the_process_nor_does_sys_exit_end_it(tmp_path: Path) -> None:
    (tmp_path / "graph.yaml").write_text(GRAPH, encoding="utf-8")
    (tmp_path / "slow_tools.py").write_text(TOOLS, encoding="utf-8")
    started = time.monotonic()
    result = rtgraph(tmp_path, "--sim-speed", "0", "--no-reload", "--say", "slow lookup please",
                     "--say", "quit now", timeout=25)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"* session started: graph {version_of(tmp_path)}, agent helper",
        "you: slow lookup please",
        "* tool slow_lookup {}",
        "! error: Tool 'slow_lookup' timed out after 1 seconds.",
        "* tool slow_lookup -> Tool 'slow_lookup' timed out after 1 seconds.",
        "helper: slow_lookup returned Tool 'slow_lookup' timed out after 1 seconds.",
        "you: quit now",
        "* tool quit_now {}",
        "! error: An error occurred while running the tool 'quit_now': SystemExit: 7",
        "* tool quit_now -> An error occurred while running the tool 'quit_now': SystemExit: 7",
        "helper: quit_now returned An error occurred while running the tool 'quit_now': SystemExit: 7.",
    ]
    # The 30 s sleep is still going when the run ends; a non-daemon worker thread would keep the
    # interpreter alive until it returned (the measured 30.5 s before the fix).
    assert elapsed < 15
