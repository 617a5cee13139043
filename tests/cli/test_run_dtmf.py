"""``rtgraph run`` shows keypad presses: a SIP-style ``dtmf_event_received`` from the (scripted) server
becomes a ``* dtmf`` line, then the agent's route runs (here: a handoff, and the new agent answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import openai_args, rtgraph, served, version_of

pytestmark = pytest.mark.slow

GRAPH = """kind: graph
start: menu
---
kind: agent
name: menu
instructions: Menu.
dtmf:
  "1": {handoff: billing}
---
kind: agent
name: billing
instructions: Billing.
"""
SCRIPT = """
- actions:
    - say: {text: "Press one for billing.", modality: text}
    - dtmf: "19"
- actions:
    - say: {text: "Billing here.", modality: text}
"""


def test_dtmf_lines_and_the_routed_handoff(tmp_path: Path) -> None:
    (tmp_path / "menu.yaml").write_text(GRAPH)
    with served(SCRIPT) as server:
        result = rtgraph(tmp_path, "--no-reload", *openai_args(server), "--say", "hello", env=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"* session started: graph {version_of(tmp_path)}, agent menu",
        "you: hello",
        "menu: Press one for billing.",
        "* dtmf 1 -> handoff",
        "* handoff: menu -> billing",
        "* dtmf 9",
        "billing: Billing here.",
    ]
