"""Which file-system changes can alter a graph, and which files to watch besides the folder.

Pure decisions, no I/O besides path arithmetic, so they are cheap to call for every change the
watcher reports and easy to reason about:

- a definition file (``*.yaml`` / ``*.yml``) anywhere under the folder, whatever way it changed
  (in-place write, an editor's write-to-temp-then-rename, a symlink re-pointed);
- a Kubernetes ConfigMap swap: the kubelet writes a new ``..<timestamp>`` directory and atomically
  renames a fresh ``..data`` symlink over the old one; the visible ``*.yaml`` files are symlinks
  through ``..data`` and never change themselves, so ``..``-prefixed entries must count;
- a user module that an entrypoint of the current graph was imported from (``*.py``), so an edited
  tool takes effect.

Editor noise alone never triggers a load: swap and backup files (``.x.yaml.swp``, ``x.yaml~``,
``#x.yaml#``, ``.#x.yaml`` lock links, ``x.yaml.tmp``, JetBrains ``___jb_tmp___``) do not end in
a definition suffix or are hidden, and byte-code caches are ignored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DEFINITION_SUFFIXES

if TYPE_CHECKING:
    from ..graph.model import Entrypoint, Graph

__all__ = ("DefinitionChangeFilter", "user_module_files")


class DefinitionChangeFilter:
    """A ``watchfiles`` ``watch_filter``: True for changes that can alter the loaded graph.

    ``folder`` is the definition folder; ``module_files`` are absolute paths of user modules
    whose edits must trigger a reload (see :func:`user_module_files`).
    """

    __slots__ = ("_folder", "_module_files")

    def __init__(self, folder: str | os.PathLike[str], module_files: Iterable[Path] = ()) -> None:
        self._folder = os.path.abspath(folder)
        self._module_files = frozenset(os.path.abspath(p) for p in module_files)

    def __call__(self, change: Any, path: str) -> bool:
        absolute = os.path.abspath(path)
        if absolute in self._module_files:
            return True
        try:
            relative = Path(os.path.relpath(absolute, self._folder))
        except ValueError:  # another drive (Windows)
            return False
        parts = relative.parts
        if not parts or parts[0] == os.pardir:
            return False
        if any(part.startswith("..") for part in parts):
            return True  # ConfigMap data dirs and the ..data symlink
        if any(part.startswith(".") or part == "__pycache__" for part in parts):
            return False
        name = parts[-1]
        if name.startswith("#"):
            return False
        return name.endswith(DEFINITION_SUFFIXES) or absolute.endswith(".py")


def _entrypoints(graph: Graph) -> Iterator[Entrypoint]:
    from ..graph.model import Entrypoint

    def hooks(h: Any) -> tuple[Any, ...]:
        return h.on_agent_start, h.on_agent_end, h.on_tool_start, h.on_tool_end, h.on_handoff

    candidates: list[Any] = [graph.run.tool_error_formatter, *hooks(graph.hooks)]
    candidates += [g.entrypoint for g in graph.output_guardrails]
    for agent in graph.agents.values():
        candidates += hooks(agent.hooks)
        candidates += [g.entrypoint for g in agent.output_guardrails]
        for tool in agent.tools:
            candidates += [tool.entrypoint, tool.needs_approval]
        candidates += [h.on_handoff for h in agent.handoffs]
        candidates += [agent.instructions.entrypoint, *(h.enabled_when for h in agent.handoffs),
                       *(h.input_filter for h in agent.handoffs)]
    for candidate in candidates:
        if isinstance(candidate, Entrypoint):
            yield candidate


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parents[1])}
    return tuple(os.path.join(os.path.abspath(r), "") for r in roots)


def user_module_files(graph: Graph) -> frozenset[Path]:
    """Source files of the user modules the graph's entrypoints were imported from.

    Installed packages, the standard library and realtime_graph itself are left out: editing
    them is not a definition change, and watching a virtualenv would be expensive.
    """
    installed = _installed_roots()
    files: set[Path] = set()
    for entrypoint in _entrypoints(graph):
        target = entrypoint.target
        module = sys.modules.get(getattr(target, "__module__", "") or "")
        filename = getattr(module, "__file__", None)
        if not filename or not filename.endswith(".py"):
            continue
        absolute = os.path.abspath(filename)
        if not absolute.startswith(installed):
            files.add(Path(absolute))
    return frozenset(files)
