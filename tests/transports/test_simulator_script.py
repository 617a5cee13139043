"""Simulator script loading: located errors for bad scripts, and the parsed actions."""

from __future__ import annotations

import re

import pytest

from realtime_graph.errors import ConfigError
from realtime_graph.transports.simulator import parse_script
from realtime_graph.transports.simulator.vocabulary import BargeIn, Call, Handoff, Say


def test_parses_all_actions() -> None:
    script = parse_script("- match: /bill(ing)?/\n  transcript: I need billing\n  actions:\n"
                          "    - say: Sure\n    - barge_in: {at_ms: 10}\n    - handoff: {agent: billing}\n"
                          "    - call: {tool: t, arguments: {a: 1}}\n")
    turn = script.turns[0]
    assert isinstance(turn.match, re.Pattern) and turn.matches("BILLING please")
    assert turn.transcript == "I need billing"
    assert turn.actions == (Say("Sure"), BargeIn(10), Handoff(agent="billing"), Call("t", '{"a": 1}'))


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("- actions:\n    - shout: hi\n", 2, 7, "unknown action 'shout'"),
    ("- actions:\n    - say: {text: hi, loud: true}\n", 2, 23, "unknown key 'loud' in say"),
    ("- match: x\n", 1, 3, "a turn needs 'actions'"),
    ("- actions:\n    - barge_in: {at_ms: 5}\n", 2, 7, "barge_in must follow a say action"),
    ("- actions: [\n", 2, 1, "invalid YAML"),
    ("turns: []\n", 1, 1, "a simulator script is a list of turns"),
])
def test_bad_scripts_are_located(text, line, column, message) -> None:
    with pytest.raises(ConfigError) as info:
        parse_script(text, filename="script.yaml")
    issue = info.value.issues[0]
    assert (issue.file, issue.line, issue.column) == ("script.yaml", line, column)
    assert issue.message.startswith(message)


def test_unreadable_script_files_are_located(tmp_path) -> None:
    from realtime_graph.transports import Simulator

    binary = tmp_path / "turns.yaml"
    binary.write_bytes(b"- actions:\n    - say: caf\xe9\n")  # Latin-1, not UTF-8
    for path, where, message in [
        (tmp_path / "missing.yaml", (None, None), "cannot read script: No such file or directory"),
        (tmp_path, (None, None), "cannot read script: Is a directory"),
        (binary, (2, 1), "not UTF-8 text"),
    ]:
        with pytest.raises(ConfigError) as info:
            Simulator(script=path)
        [issue] = info.value.issues
        assert (issue.code, issue.file, (issue.line, issue.column), issue.message) == (
            "simulator_script", str(path), where, message)
