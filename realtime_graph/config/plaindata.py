"""Already-parsed documents (``validate_dict``) checked and copied as plain JSON data.

Python callers can hand us anything: keys that are not strings, bytes, sets, NaN, objects,
data that contains itself, or one list shared a million times over. YAML input is bounded by
:mod:`.yamlsource`; this gives ``validate_dict`` the same bounds (depth, value count, JSON
types) with located issues, and a private copy the pipeline may keep.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .issues import IssueSink
from .yamlsource import MAX_DEPTH, JsonPath

__all__ = ("MAX_VALUES", "plain_copy")

MAX_VALUES = 50_000
"""How many values (counting every use of shared data) one ``validate_dict`` call may hold."""
_MAX_INT_DIGITS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")


class _TooMany(Exception):
    pass


class _Copier:
    def __init__(self, sink: IssueSink, file: str) -> None:
        self.sink, self.file, self.count = sink, file, 0
        self.active: set[int] = set()

    def refuse(self, code: str, message: str, path: JsonPath, hint: str | None = None) -> None:
        self.sink.add(code, message, path=path, file=self.file, hint=hint)

    def copy(self, value: Any, path: JsonPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooMany
        if isinstance(value, str):
            if _SURROGATE.search(value):
                self.refuse("RG114", "string holds a lone surrogate", path)
                return None
            return value
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) >= 10**_MAX_INT_DIGITS:
                self.refuse("RG114", f"integer has more than {_MAX_INT_DIGITS} digits", path)
                return None
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                self.refuse("RG114", f"{value!r} is not a JSON number", path, "use a finite number")
                return None
            return float(value)
        if not isinstance(value, (dict, list, tuple)):
            self.refuse("RG114", f"a value of type {type(value).__name__} is not JSON data", path,
                        "use str, int, float, bool, None, lists and dicts with string keys")
            return None
        if len(path) >= MAX_DEPTH:
            self.refuse("RG108", f"values nest more than {MAX_DEPTH} levels deep", path, "flatten the data")
            return None
        if id(value) in self.active:
            self.refuse("RG114", "the data contains itself", path, "pass a tree, not a cyclic structure")
            return None
        self.active.add(id(value))
        try:
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        self.refuse("RG114", f"mapping key {_short(key)} is not a string", path,
                                    "JSON object keys are strings")
                        continue
                    if _SURROGATE.search(key):
                        self.refuse("RG114", f"mapping key {key!r} holds a lone surrogate", path)
                        continue
                    out[key] = self.copy(item, (*path, key))
                return out
            return [self.copy(item, (*path, i)) for i, item in enumerate(value)]
        finally:
            self.active.discard(id(value))


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a user object whose __repr__ raises
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def plain_copy(documents: Any, file: str, sink: IssueSink) -> list[Any] | None:
    """A plain-JSON copy of ``documents`` (a sequence of documents); None after a refusal."""
    copier = _Copier(sink, file)
    before = len(sink.issues)
    try:
        if not isinstance(documents, (list, tuple)):
            copier.refuse("RG114", f"documents must be a list, got {type(documents).__name__}", ())
            return None
        out = [copier.copy(d, ()) for d in documents]
    except _TooMany:
        copier.refuse("RG103", f"the documents hold more than {MAX_VALUES} values (shared data counts "
                      "every time it is used)", (), "pass smaller documents")
        return None
    return None if sink.has_errors_since(before) else out
