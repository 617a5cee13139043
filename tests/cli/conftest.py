"""Each test runs ``rtgraph run`` on its own copy of the example agents.d."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import EXAMPLE


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    folder = tmp_path / "agents.d"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder
