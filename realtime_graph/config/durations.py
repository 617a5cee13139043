"""Durations as users write them: ``500ms``, ``5s``, ``1.5s``, ``2m`` (or a bare number of seconds)."""

from __future__ import annotations

import math
import re

__all__ = ("MAX_DURATION_S", "parse_duration")

_DURATION = re.compile(r"^([0-9]{1,30}(?:\.[0-9]{1,30})?)(ms|s|m)$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0}
MAX_DURATION_S = 86_400.0
"""Longest duration accepted (one day): anything longer is a typo, and huge numbers overflow."""


def parse_duration(value: str | int | float) -> float:
    """Seconds. Raises ValueError for text that is no duration, and for a duration that is not
    finite, negative or longer than :data:`MAX_DURATION_S` (the message says which)."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        # float() of a 400-digit integer would overflow
        seconds = math.inf if isinstance(value, int) and abs(value) > MAX_DURATION_S else float(value)
    else:
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"not a duration: {value[:40]!r}")
        seconds = float(match.group(1)) * _SCALE[match.group(2)]
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ValueError(f"duration is longer than {MAX_DURATION_S:.0f}s (one day)")
    if seconds < 0:
        raise ValueError("duration must not be negative")
    return seconds
