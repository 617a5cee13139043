"""Check codes and the collector that turns (document, JSON path) into located :class:`Issue` s.

Codes are stable API (CI logs, ``--format json`` consumers, docs/format.md):
``RG1xx`` files, YAML and schema · ``RG2xx`` graph structure · ``RG3xx`` entrypoints ·
``RG4xx`` templates · ``RG5xx`` settings and secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import Issue, Severity

if TYPE_CHECKING:
    from .yamlsource import Document, JsonPath

__all__ = ("CODES", "IssueSink", "closest", "json_path")

# code -> one-line title (documented in docs/format.md; a test keeps the two in sync)
CODES: dict[str, str] = {
    "RG101": "YAML syntax error or undecodable file",
    "RG102": "file larger than the size limit",
    "RG103": "alias expansion limit exceeded (billion laughs) or recursive alias",
    "RG104": "tag not allowed (only YAML core-schema tags)",
    "RG105": "duplicate key in a mapping",
    "RG106": "definition path missing or holds no *.yaml / *.yml files",
    "RG107": "mapping key that is not a scalar",
    "RG108": "values nest too deeply",
    "RG109": "definition file name is not valid UTF-8",
    "RG110": "value does not match the schema",
    "RG111": "unknown key",
    "RG112": "required key missing",
    "RG113": "missing or unknown `kind`",
    "RG114": "value is not JSON data (validate_dict)",
    "RG201": "no `kind: graph` document",
    "RG202": "more than one `kind: graph` document",
    "RG203": "duplicate agent name",
    "RG204": "unknown start agent",
    "RG205": "unknown handoff target",
    "RG206": "duplicate model-visible tool name in one agent",
    "RG207": "agent unreachable from start (warning)",
    "RG208": "handoff target speaks with a different voice",
    "RG209": "invalid regular expression in a deny guardrail",
    "RG210": "regular expression in a deny guardrail too large or too deeply nested",
    "RG211": "handoff `input_filter` is not applied in realtime sessions (warning)",
    "RG301": "module of an entrypoint not found",
    "RG302": "module raised an exception while being imported",
    "RG303": "attribute of an entrypoint not found",
    "RG304": "entrypoint is not callable",
    "RG305": "entrypoint signature does not fit its call convention",
    "RG306": "declared tool parameters disagree with the function signature",
    "RG307": "tool parameters cannot be derived from a type hint",
    "RG308": "entrypoint module outside imports.allow",
    "RG309": "guardrail entrypoint annotated to return something that is not a verdict",
    "RG310": "handoff input_type unusable (not a dataclass, TypedDict or pydantic model, or no on_handoff)",
    "RG401": "template syntax error",
    "RG402": "template uses an undeclared variable",
    "RG403": "template too deeply nested or too large",
    "RG404": "template uses what the sandbox refuses (private attributes, include, huge range)",
    "RG405": "template constant expression too large",
    "RG406": "plain-text instructions that look like an entrypoint (warning)",
    "RG501": "malformed ${ENV} reference",
    "RG502": "environment variable unset and no default (warning)",
    "RG503": "literal secret where an ${ENV} reference is required",
    "RG504": "unknown audio format",
    "RG505": "variable default does not match its type",
    "RG506": "duration out of range",
}

_WARNINGS = frozenset({"RG207", "RG211", "RG406", "RG502"})


def json_path(path: JsonPath) -> str:
    """``("tools", 0, "name")`` → ``$.tools[0].name`` (non-identifier keys bracket-quoted)."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate most similar to ``word`` (difflib), or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


class IssueSink:
    """Collects issues; locations come from the document's recorded YAML marks."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, code: str, message: str, doc: Document | None = None, path: JsonPath = (),
            *, key: bool = False, hint: str | None = None, file: str | None = None,
            line: int | None = None, column: int | None = None) -> None:
        """Record ``code`` at ``path`` of ``doc`` (``key=True``: point at the mapping key itself)."""
        if doc is not None:
            file = doc.file
            if line is None:
                line, column = doc.locate(path, key=key)
        severity = Severity.WARNING if code in _WARNINGS else Severity.ERROR
        self.issues.append(Issue(code=code, message=message, severity=severity, file=file,
                                 line=line, column=column, path=json_path(path), hint=hint))

    @property
    def has_errors(self) -> bool:
        return self.has_errors_since(0)

    def has_errors_since(self, mark: int) -> bool:
        """Whether an error was recorded after the first ``mark`` issues."""
        return any(i.severity is Severity.ERROR for i in self.issues[mark:])
