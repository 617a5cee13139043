"""Lazy re-exports for package ``__init__`` modules, so importing a package stays cheap
(``rtgraph --help`` must not import websockets, jsonschema or jinja2).

The one list of a package's public names is its ``if TYPE_CHECKING:`` block of
``from .module import Name as Name`` lines: type checkers read it as explicit re-exports, and
:func:`lazy_exports` parses the same block (with :mod:`ast`, without importing anything) to build
``__all__`` and the name -> module map used at run time. There is no second copy to keep in step.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ("lazy_exports",)


def _type_checking_imports(source: str, package: str) -> dict[str, str]:
    """Name -> absolute module for every ``from X import N as N`` inside ``if TYPE_CHECKING:``."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                raise TypeError(f"{package}: only 'from ... import' lines belong in the TYPE_CHECKING block")
            module = importlib.util.resolve_name("." * stmt.level + (stmt.module or ""), package)
            for alias in stmt.names:
                if alias.asname != alias.name:
                    raise TypeError(f"{package}: write 'import {alias.name} as {alias.name}' (an explicit re-export)")
                found[alias.name] = module
    return found


def lazy_exports(
    package: str, init_file: str, namespace: dict[str, Any]
) -> tuple[tuple[str, ...], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose ``__init__`` is ``init_file``.

    Each exported name is imported from its defining module on first access and then cached in
    the package ``namespace``.
    """
    exports = _type_checking_imports(Path(init_file).read_text(encoding="utf-8"), package)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return tuple(sorted(exports, key=str.casefold)), __getattr__, __dir__
