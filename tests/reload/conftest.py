"""Reload fixtures: a populated definition folder on disk and a collector of reloader deliveries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.reload import Collector, Folder


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.send.close()
    c.receive.close()


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    f = Folder(tmp_path / "agents.d")
    f.populate()
    return f
