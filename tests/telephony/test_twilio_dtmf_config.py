"""The agent's ``dtmf:`` routes through the real loader: the typed routes and located errors."""

from __future__ import annotations

import pytest

from realtime_graph.config import load_string, validate_string
from realtime_graph.graph.model import DtmfRoute

GOOD = """kind: graph
start: menu
---
kind: agent
name: menu
instructions: Menu.
dtmf:
  1: {handoff: billing}
  "0": {say: "Open nine to five."}
  "#": {send: "A person, please"}
---
kind: agent
name: billing
instructions: Billing.
"""


def test_routes_are_typed_and_targets_count_as_reachable() -> None:
    report = validate_string(GOOD, filename="menu.yaml", import_entrypoints=False)
    assert report.issues == ()  # billing is reached by the digit only: no RG207
    graph = load_string(GOOD, filename="menu.yaml", import_entrypoints=False)
    assert dict(graph.agents["menu"].dtmf) == {"1": DtmfRoute("handoff", "billing"),
                                              "0": DtmfRoute("say", "Open nine to five."),
                                              "#": DtmfRoute("send", "A person, please")}
    assert dict(graph.agents["billing"].dtmf) == {}


@pytest.mark.parametrize(("entry", "expected"), [
    ('"2": {handoff: biling}', ("RG610", 9, 18, "$.dtmf['2'].handoff",
                                "dtmf digit '2' hands off to unknown agent 'biling'", "did you mean 'billing'?")),
    ('"x": {say: hi}', ("RG110", 9, 3, "$.dtmf.x", "'x' is not a keypad digit",
                        'use one of 0-9, *, #, A-D, quoted: "1", "#"')),
    ('"12": {say: hi}', ("RG110", 9, 3, "$.dtmf['12']", "'12' is not a keypad digit",
                         'use one of 0-9, *, #, A-D, quoted: "1", "#"')),
    ('"3": {say: a, send: b}', ("RG110", 9, 8, "$.dtmf['3']", "dtmf digit '3' needs exactly one action",
                                "write one of {handoff: AGENT}, {say: TEXT}, {send: TEXT}")),
    ('"4": {}', ("RG110", 9, 8, "$.dtmf['4']", "dtmf digit '4' needs exactly one action",
                 "write one of {handoff: AGENT}, {say: TEXT}, {send: TEXT}")),
    ('"5": {play: x}', ("RG111", 9, 9, "$.dtmf['5'].play", "unknown key 'play'", "valid keys: handoff, say, send")),
])
def test_bad_routes_are_located(entry: str, expected: tuple[object, ...]) -> None:
    text = GOOD.replace('  1: {handoff: billing}\n', f"  1: {{handoff: billing}}\n  {entry}\n")
    report = validate_string(text, filename="menu.yaml", import_entrypoints=False)
    errors = [(i.code, i.line, i.column, i.path, i.message, i.hint) for i in report.errors]
    assert errors == [expected]
