"""One broken definition folder per check code, and the exact text the user sees for it.

Each ``fixtures/<code>_<what>/`` holds the definition files and ``expected.txt``: the complete
``rtgraph validate`` text output (every line: location, code, message, hint, summary).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from realtime_graph.config import render_issues, validate
from realtime_graph.config.issues import CODES

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.txt").is_file())


@pytest.mark.parametrize("case", CASES)
def test_fixture_renders_exactly(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)  # paths in the output stay relative, as the user typed them
    report = validate(case, environ={})
    expected = (FIXTURES / case / "expected.txt").read_text()
    assert render_issues(report.issues) + "\n" == expected
    code = case.split("_")[0].upper()
    assert code in {i.code for i in report.issues}, f"{case} does not trigger {code}"


def _codes_asserted_in_other_tests() -> set[str]:
    """Codes written as a string constant in another test module of this folder (a dedicated test)."""
    found: set[str] = set()
    for module in Path(__file__).parent.glob("test_*.py"):
        if module.name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(re.findall(r"\bRG\d{3}\b", node.value))
    return found


def test_every_code_has_a_fixture_or_a_dedicated_test() -> None:
    fixtures = {case.split("_")[0].upper() for case in CASES}
    assert fixtures <= set(CODES), "a fixture folder is named after an unknown code"
    assert set(CODES) - fixtures - _codes_asserted_in_other_tests() == set()


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "format.md").read_text()
    missing = [code for code in CODES if f"`{code}`" not in doc]
    assert not missing
