"""CI runs the example agents.d scenarios through the real ``rtgraph test`` (a subprocess)."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from tests.support.scenarios import rtgraph_test

pytestmark = pytest.mark.slow

SCENARIOS = [
    "tests/scenarios/booking.yaml::book_a_table",
    "tests/scenarios/booking.yaml::booking_rejected_by_the_caller",
    "tests/scenarios/booking.yaml::booking_system_down",
    "tests/scenarios/guardrails.yaml::card_number_is_cut",
    "tests/scenarios/guardrails.yaml::ordinary_numbers_pass",
    "tests/scenarios/interruptions.yaml::barge_in_by_button",
    "tests/scenarios/interruptions.yaml::barge_in_by_voice",
    "tests/scenarios/weather.yaml::weather_in_paris",
    "tests/scenarios/weather.yaml::weather_then_back_to_concierge",
]


def test_example_suite_passes_with_full_graph_coverage(tmp_path) -> None:
    junit = tmp_path / "scenarios.xml"
    result = rtgraph_test("--fail-under", "100", "--junit-xml", junit, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [re.sub(r"  \(\d+\.\d\d s\)$", "", line) for line in lines[:9]] == [f"PASS {s}" for s in SCENARIOS]
    assert lines[9:14] == [
        "graph coverage: 100.0%",
        "  agents     3/3",
        "  tools      2/2",
        "  handoffs   4/4",
        "  guardrails 1/1",
    ]
    assert re.fullmatch(r"9 passed, 0 failed in \d+\.\d\d s", lines[14])
    assert len(lines) == 15 and result.stderr == ""
    root = ElementTree.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == ("testsuites", "9", "0", "0")
    cases = [f"{c.get('classname')}::{c.get('name')}" for c in root.iter("testcase")]
    assert cases == SCENARIOS
    assert not list(root.iter("failure"))


def test_each_example_scenario_passes_alone() -> None:
    for scenario in ("barge_in_by_voice", "booking_system_down"):
        result = rtgraph_test("-k", scenario)
        assert result.returncode == 0, result.stdout
        assert result.stdout.splitlines()[0].startswith("PASS tests/scenarios/")
        assert re.search(r"^1 passed, 0 failed in ", result.stdout, re.M)


def test_pre_commit_hooks_run_real_commands() -> None:
    import shlex

    import yaml

    from tests.support.scenarios import ROOT

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [(h["id"], h["entry"], h["pass_filenames"]) for h in hooks] == [
        ("rtgraph-validate", "rtgraph validate", False), ("rtgraph-test", "rtgraph test", False)]
    # what pre-commit runs, from the repository root
    assert rtgraph_test(*shlex.split(hooks[1]["entry"])[2:]).returncode == 0
