"""The shipped JSON Schemas parse strictly: no key is written twice (JSON silently keeps the last one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SCHEMAS = sorted((Path(__file__).resolve().parents[1] / "schemas").glob("*.json"))


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"keys written twice: {repeated}"
    return dict(pairs)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_has_no_repeated_keys(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)


def test_every_schema_file_is_checked() -> None:
    assert {p.name for p in SCHEMAS} >= {"agent.schema.json", "graph.schema.json", "rtgraph.schema.json",
                                         "scenario.schema.json"}
