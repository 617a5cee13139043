"""Every error realtime-graph raises, and the located :class:`Issue` that config errors carry.

The tree::

    RealtimeGraphError
    ├── ConfigError            a definition folder failed validation; carries every Issue found
    ├── EntrypointError        a ``pkg.module:function`` reference could not be imported or called
    ├── TemplateRenderError    instructions could not be rendered (missing variable at run time)
    ├── SessionError           the session was used wrongly or failed (closed, unknown agent, ...)
    └── TransportError         anything between us and the Realtime server
        ├── ConnectError       the WebSocket handshake failed (refused, HTTP 401/403, timeout)
        └── ConnectionLost     the socket closed abnormally mid-session (carries code and reason)

Third-party exceptions (yaml, jsonschema, jinja2, websockets) are translated into these at the
module that talks to the library; none of them escapes to users.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = (
    "ConfigError",
    "ConnectError",
    "ConnectionLost",
    "EntrypointError",
    "Issue",
    "RealtimeGraphError",
    "SessionError",
    "Severity",
    "TemplateRenderError",
    "TransportError",
    "redact_url",
)


class Severity(str, enum.Enum):
    """How bad an :class:`Issue` is. Warnings fail ``rtgraph validate`` only with ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a definition folder, located as precisely as we can.

    ``line`` and ``column`` are 1-based, as editors count. ``path`` is the JSON path of the
    offending value inside its YAML document (``$.tools[0].entrypoint``); ``file`` is the path
    as the user gave it (relative paths stay relative so output is stable in CI logs).
    """

    code: str
    message: str
    severity: Severity = Severity.ERROR
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = "$"
    hint: str | None = None

    def where(self) -> str:
        """``file:line:column`` with the parts that are known; "" without a file."""
        if not self.file:
            return ""
        return ":".join([self.file, *(str(p) for p in (self.line, self.column) if p is not None)])

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.code)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form used by ``--format json``; keys are stable API."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class RealtimeGraphError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RealtimeGraphError):
    """A definition folder is invalid. ``issues`` holds every problem, errors and warnings."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(sorted(issues, key=Issue.sort_key))
        errors = [i for i in self.issues if i.severity is Severity.ERROR]
        first = errors[0] if errors else (self.issues[0] if self.issues else None)
        summary = f"{len(errors)} error(s)"
        if first is not None:
            where = first.where()
            summary += f"; first: {where}{': ' if where else ''}{first.code}: {first.message}"
        super().__init__(summary)

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)


class EntrypointError(RealtimeGraphError):
    """An entrypoint reference (``pkg.module:function``) cannot be resolved or called."""


class TemplateRenderError(RealtimeGraphError):
    """An instructions template failed to render with the variables it was given."""


class SessionError(RealtimeGraphError):
    """A session was misused (sent to after close, unknown agent name, ...) or failed fatally."""


class TransportError(RealtimeGraphError):
    """Something went wrong between the session and the Realtime server."""


class ConnectError(TransportError):
    """The connection could not be established (refused, rejected handshake, timeout)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConnectionLost(TransportError):
    """The server or network closed the connection abnormally during a session."""

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>[^/?#@\s]*)@")
_QUERY_PARAM = re.compile(r"(?P<sep>^|[&;])(?P<key>[^=&;#]*)(?P<value>=[^&;#]*)?")


def redact_url(url: str) -> str:
    """``url`` safe to show: userinfo and every query value become ``***`` (keys stay, so the
    reader still sees *which* parameter was set). Works on anything, scheme or not, and never
    raises: ``wss://u:pw@h/p?api_key=sk-1&model=m`` → ``wss://***@h/p?api_key=***&model=***``."""
    text = str(url)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme') or ''}***@", text, count=1)
    base, mark, rest = text.partition("?")
    if not mark:
        return text
    query, hash_mark, fragment = rest.partition("#")

    def param(m: re.Match[str]) -> str:
        if m.group("value") is None:  # a bare token (``?sk-123``) may be the secret itself
            return f"{m.group('sep')}***" if m.group("key") else m.group(0)
        return f"{m.group('sep')}{m.group('key')}=***"

    return f"{base}?{_QUERY_PARAM.sub(param, query)}{hash_mark}{fragment}"
