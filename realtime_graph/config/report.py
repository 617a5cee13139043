"""The result of validation and the one place issues are rendered (text, JSON, GitHub annotations)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..errors import Issue, Severity
from ..graph.model import Graph

__all__ = ("Format", "ValidationReport", "github_escape", "plural", "render_issues", "summary_line")

Format = Literal["text", "json", "github"]


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every issue found (sorted by location) and the graph when there is no error."""

    issues: tuple[Issue, ...]
    graph: Graph | None

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


def plural(count: int, word: str) -> str:
    """``1 error``, ``2 errors``: the count with ``word``, plural by adding an s."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(issues: Iterable[Issue]) -> str:
    """``2 errors, 1 warning``."""
    issues = list(issues)
    errors = sum(i.severity is Severity.ERROR for i in issues)
    return f"{plural(errors, 'error')}, {plural(len(issues) - errors, 'warning')}"


def _where(issue: Issue) -> str:
    where = issue.where()
    return f"{where}: " if where else ""


def _text(issues: list[Issue]) -> str:
    lines = []
    for issue in issues:
        lines.append(f"{_where(issue)}{issue.severity.value} {issue.code}: {issue.message}")
        if issue.hint:
            lines.append(f"  hint: {issue.hint}")
    lines.append(summary_line(issues))
    return "\n".join(lines)


def github_escape(text: str, *, prop: bool = False) -> str:
    """``text`` escaped for a GitHub workflow command (``prop``: a property value such as ``file=``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _github(issues: list[Issue]) -> str:
    lines = []
    for issue in issues:
        props = [f"{k}={github_escape(str(v), prop=True)}" for k, v in
                 (("file", issue.file), ("line", issue.line), ("col", issue.column), ("title", issue.code))
                 if v is not None]
        message = issue.message + (f"\nhint: {issue.hint}" if issue.hint else "")
        lines.append(f"::{issue.severity.value} {','.join(props)}::{github_escape(message)}")
    lines.append(summary_line(issues))
    return "\n".join(lines)


def render_issues(issues: Iterable[Issue], fmt: Format = "text") -> str:
    """Render ``issues`` (sorted by location) as ``text``, ``json`` or ``github`` annotations."""
    ordered = sorted(issues, key=Issue.sort_key)
    if fmt == "json":
        errors = sum(i.severity is Severity.ERROR for i in ordered)
        return json.dumps({"issues": [i.to_dict() for i in ordered], "errors": errors,
                           "warnings": len(ordered) - errors}, indent=2, ensure_ascii=False)
    if fmt == "github":
        return _github(ordered)
    if fmt == "text":
        return _text(ordered)
    raise ValueError(f"unknown format {fmt!r} (text, json, github)")
