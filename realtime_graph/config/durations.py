"""Durations as users write them: ``500ms``, ``5s``, ``1.5s``, ``2m`` (or a bare number of seconds)."""

from __future__ import annotations

import re

__all__ = ("parse_duration",)

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0}


def parse_duration(value: str | int | float) -> float:
    """Seconds; the schema has already checked the syntax, so a mismatch is a ValueError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _SCALE[match.group(2)]
