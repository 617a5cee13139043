"""Hot reload of a definition folder (watchfiles → full validation → ``on_graph``).

``rtgraph run`` wires :class:`GraphReloader` to ``session.update_graph``; the session applies a
new graph at its next safe point.
"""

from __future__ import annotations

from .changes import DefinitionChangeFilter, user_module_files
from .reloader import GraphReloader

__all__ = ("DefinitionChangeFilter", "GraphReloader", "user_module_files")
