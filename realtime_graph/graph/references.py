"""Values the graph holds by reference: frozen JSON data, source locations, ``${ENV}`` secrets
and ``module:function`` entrypoints (the leaves of :mod:`realtime_graph.graph.model`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import EntrypointError

__all__ = ("EMPTY", "ENV_REFERENCE", "Entrypoint", "Secret", "SourceLocation", "freeze", "thaw")

EMPTY: Mapping[str, Any] = MappingProxyType({})
"""The shared empty read-only mapping (default of mapping fields)."""


def freeze(value: Any) -> Any:
    """Deep-freeze JSON-shaped data: dicts become read-only mappings, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain ``dict``/``list`` copies, safe to mutate and serialise."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a definition came from: file as given, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${NAME}`` or ``${NAME:-default}``: group 1 is the name, group 2 the default (None if absent)."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that comes from the environment via a ``${NAME}`` (or ``${NAME:-default}``) reference.

    The reference text, never the value, is what ``repr``/``str`` show, so secrets cannot leak
    into logs, errors or ``rtgraph`` dumps. Call :meth:`reveal` at the one place that needs the
    value (building the WebSocket handshake, rendering a template).
    """

    template: str

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise KeyError(name)

        return ENV_REFERENCE.sub(sub, self.template)

    def missing(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """Names referenced without a default that are not set."""
        env = os.environ if environ is None else environ
        return tuple(
            m.group(1) for m in ENV_REFERENCE.finditer(self.template)
            if m.group(1) not in env and m.group(2) is None
        )

    def values(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The referenced environment variables that are set: name → value (for redaction)."""
        env = os.environ if environ is None else environ
        return {m.group(1): env[m.group(1)] for m in ENV_REFERENCE.finditer(self.template) if m.group(1) in env}

    def __repr__(self) -> str:
        return f"Secret({self.template!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Entrypoint:
    """A ``pkg.module:function`` reference and, once imported, the object it names."""

    ref: str
    target: Callable[..., Any] | None = field(default=None, compare=False)
    is_async: bool = False
    location: SourceLocation | None = field(default=None, compare=False)
    convention: str = field(default="", compare=False)
    """How the loader calls the named object, e.g. ``fn(context, agent, output) (SDK)`` (``rtgraph
    validate --verbose``). ``target`` is then an adapter with our call convention."""
    takes_context: bool = False
    """A hook entrypoint that also receives a :class:`CallContext` after the event (SDK-shaped hooks)."""

    def resolve(self) -> Callable[..., Any]:
        if self.target is None:
            raise EntrypointError(f"entrypoint {self.ref!r} was not imported (loaded with import disabled)")
        return self.target
