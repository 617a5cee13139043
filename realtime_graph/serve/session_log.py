"""Server log lines: one per session start and end, reloads, drain. Text or JSON, never a secret.

Callers pass only identifiers and outcomes (session id, channel, agent, outcome, counts); nothing
from the graph's settings or the request headers is ever logged.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Literal, TextIO

__all__ = ("ServeLog",)


class ServeLog:
    """Writes ``rtgraph: <event> key=value ...`` lines, or one JSON object per line."""

    def __init__(self, stream: TextIO | None = None, *, log_format: Literal["text", "json"] = "text",
                 clock: Any = time.time) -> None:
        self._stream = stream
        self._json = log_format == "json"
        self._clock = clock

    def line(self, event: str, message: str = "", **fields: Any) -> str:
        """Render one line (pure); ``fields`` with None values are left out."""
        shown = {k: v for k, v in fields.items() if v is not None}
        if self._json:
            record = {"ts": round(self._clock(), 3), "event": event, **shown}
            if message:
                record["message"] = message
            return json.dumps(record, ensure_ascii=False, default=str)
        pairs = " ".join(f"{k}={_text(v)}" for k, v in shown.items())
        return " ".join(p for p in (f"rtgraph: {event}", pairs, message) if p)

    def write(self, event: str, message: str = "", **fields: Any) -> None:
        stream = self._stream or sys.stderr
        stream.write(self.line(event, message, **fields) + "\n")
        stream.flush()


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text
