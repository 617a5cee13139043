"""Definition folders written to ``tmp_path``: a user module next to ``graph.yaml`` and ``main.yaml``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = ("module_folder",)


def module_folder(module: str, code: str, graph: str, main: str) -> Callable[..., Iterator[Callable[..., Path]]]:
    """A ``folder`` fixture: ``folder(graph=..., main=...) -> tmp_path`` with ``{module}.py`` holding
    ``code``; the module is forgotten at teardown so the next test imports its own copy."""

    @pytest.fixture
    def folder(tmp_path: Path) -> Iterator[Callable[..., Path]]:
        def make(graph: str = graph, main: str = main) -> Path:
            (tmp_path / f"{module}.py").write_text(code, encoding="utf-8")
            (tmp_path / "graph.yaml").write_text(graph, encoding="utf-8")
            (tmp_path / "main.yaml").write_text(main, encoding="utf-8")
            return tmp_path

        yield make
        sys.modules.pop(module, None)

    return folder
