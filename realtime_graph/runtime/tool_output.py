"""What the model sees of a tool's return value: strict JSON, well-formed text, a size cap (pure).

- ``str`` is sent as is; a dataclass becomes a dict; everything else is JSON
  (``ensure_ascii=False``, unknown objects via ``str``).
- JSON is strict: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON, so they are sent as
  ``null`` (what JavaScript's ``JSON.stringify`` does), never as bare words the model's side
  cannot parse.
- Lone surrogates (``"\\ud800"``) cannot be encoded as UTF-8 for the wire; each becomes U+FFFD
  (a surrogate pair becomes its character).
- Text longer than ``max_chars`` is cut, with a note the model sees saying how much was left out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

__all__ = ("DEFAULT_MAX_CHARS", "cap_text", "model_text", "serialise_output", "strict_json", "well_formed")

DEFAULT_MAX_CHARS = 100_000
"""``run.tools.max_output_chars`` when not set."""

_NON_FINITE = "Out of range float values are not JSON compliant"


def _finite(value: Any, seen: set[int]) -> Any:
    """``value`` with every non-finite float replaced by None (containers copied only if needed)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dict, list, tuple)):
        key = id(value)
        if key in seen:
            raise ValueError("Circular reference detected")  # json.dumps's words for it
        seen.add(key)
        try:
            if isinstance(value, dict):
                return {k: _finite(v, seen) for k, v in value.items()}
            return [_finite(v, seen) for v in value]
        finally:
            seen.discard(key)
    return value


def strict_json(value: Any) -> str:
    """``value`` as strict JSON text: non-finite floats become ``null``.

    :raises ValueError: for a circular structure. :raises TypeError: for keys JSON cannot have.
    :raises RecursionError: for nesting deeper than the interpreter allows.
    """
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError as exc:
        if str(exc) != _NON_FINITE:
            raise
    return json.dumps(_finite(value, set()), ensure_ascii=False, default=str, allow_nan=False)


def serialise_output(value: Any) -> str:
    """A tool's return value as text: ``str`` as is, a dataclass as its fields, else strict JSON."""
    if isinstance(value, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return strict_json(value)


def well_formed(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it can be sent as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 joins surrogate pairs into their character and replaces only the lone ones.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def cap_text(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters plus a note, when it is longer."""
    if len(text) <= max_chars:
        return text
    return (f"{text[:max_chars]}\n[Output truncated: the tool returned {len(text):,} characters; "
            f"only the first {max_chars:,} are shown.]")


def model_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text sent as ``function_call_output``: capped, then made well-formed."""
    return well_formed(cap_text(text, max_chars))
