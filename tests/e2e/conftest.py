"""E2E fixtures: graphs loaded from YAML with throw-away user modules; strict client-event checks."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from realtime_graph.config import load_string
from realtime_graph.graph.model import Graph
from tests.support.simulated import LIVE, check_client_events

_MODULES = itertools.count()


@pytest.fixture
def load_graph(tmp_path, monkeypatch) -> Callable[..., tuple[Graph, Any]]:
    """``load_graph(yaml, code=None) -> (graph, module)``: write ``code`` as a fresh module (its
    name replaces ``{mod}`` in the YAML), then load the YAML with the real loader."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def build(yaml_text: str, code: str | None = None) -> tuple[Graph, Any]:
        name = f"rtg_e2e_user_{next(_MODULES)}"
        if code is not None:
            (tmp_path / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")
            names.append(name)
        graph = load_string(textwrap.dedent(yaml_text).replace("{mod}", name), filename="e2e.yaml")
        return graph, sys.modules.get(name)

    yield build
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def _client_events_are_strictly_valid():
    """Every client event any simulator of the test received is a valid GA client event."""
    LIVE.clear()
    yield
    try:
        check_client_events(LIVE)
    finally:
        LIVE.clear()
