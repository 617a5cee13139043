"""Helpers for scenario tests: the real ``rtgraph test`` in a subprocess, and scenario files on disk."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_GRAPH = ROOT / "agents.d"
EXAMPLE_SCENARIOS = ROOT / "tests" / "scenarios"
COMMAND = [sys.executable, "-m", "realtime_graph", "test"]


def rtgraph_test(*args: str | os.PathLike[str], cwd: Path | None = None, timeout: float = 120,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``rtgraph test ARGS`` as a real subprocess (``cwd`` defaults to the repository root)."""
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          stdin=subprocess.DEVNULL)


def write(folder: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``folder/name``; returns the path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path
