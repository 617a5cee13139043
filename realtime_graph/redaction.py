"""Secret values out of what is shown or stored: session events, cassettes, reports (pure).

A template variable whose default references a credential-like environment variable (a name
containing KEY, TOKEN, SECRET or PASSWORD, e.g. ``default: "${OPENAI_API_KEY}"``) is a secret:
its value goes into the instructions the model gets (that is the point of the variable), but
everywhere a person or a file sees session data it is replaced by ``[redacted:<variable>]``.

A :class:`Redactor` holds the current secret values by variable name. It is mutable because the
values can change during a session (hot reload, a new default); the session updates its one
redactor and everyone holding it (events, the cassette writer) redacts with the new values.

Limits, by design: a value shorter than :data:`MIN_LENGTH` characters is not redacted (it cannot
be told apart from ordinary text); a value split across events (a transcript streamed in
deltas) is redacted in the completed transcript only; audio payloads are left as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ("MIN_LENGTH", "Redactor", "marker")

MIN_LENGTH = 4
"""Secret values shorter than this are not redacted."""

_AUDIO_FIELDS = {"input_audio_buffer.append": "audio", "response.output_audio.delta": "delta", "audio": "audio"}
"""Base64 audio in wire events and in ``audio`` session events: never text, and a chance match
would corrupt the audio."""


def marker(name: str) -> str:
    """What a secret value of variable ``name`` is replaced by."""
    return f"[redacted:{name}]"


class Redactor:
    """Replaces secret values in text and in JSON-like data. Empty (falsy) until given secrets."""

    __slots__ = ("_pairs",)

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._pairs: tuple[tuple[str, str], ...] = ()
        self.update(secrets or {})

    def update(self, secrets: Mapping[str, str]) -> None:
        """Redact these values from now on (``name → value``), instead of the previous ones.

        Each value is also redacted in its JSON-escaped forms (inside tool-call arguments and
        other JSON text carried in strings); longer values first, so one containing another is
        replaced whole.
        """
        pairs: dict[str, str] = {}
        for name, value in secrets.items():
            if not isinstance(value, str) or len(value) < MIN_LENGTH:
                continue
            for form in (value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]):
                pairs.setdefault(form, marker(name))
        self._pairs = tuple(sorted(pairs.items(), key=lambda pair: -len(pair[0])))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def __repr__(self) -> str:  # never the values
        return f"Redactor({len(self._pairs)} forms)"

    def text(self, text: str) -> str:
        """``text`` with every secret value replaced."""
        for value, mark in self._pairs:
            if value in text:
                text = text.replace(value, mark)
        return text

    def data(self, value: Any) -> Any:
        """``value`` (dicts, lists, tuples, strings) with secrets replaced in every string, keys
        included. Unchanged parts are returned as the same objects; nothing is modified in place."""
        if not self._pairs:
            return value
        try:
            return self._walk(value)
        except RecursionError:  # deeper than anything real: shown as a marker, not unredacted
            return "[redacted: too deeply nested]"

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            kind = value.get("type")
            skip = _AUDIO_FIELDS.get(kind) if isinstance(kind, str) else None
            out = {}
            changed = False
            for key, item in value.items():
                new_key = self.text(key) if isinstance(key, str) else key
                new_item = item if key == skip else self._walk(item)
                changed = changed or new_key is not key or new_item is not item
                out[new_key] = new_item
            return out if changed else value
        if isinstance(value, (list, tuple)):
            items = [self._walk(item) for item in value]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        return value
