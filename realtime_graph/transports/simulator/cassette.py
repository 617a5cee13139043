"""Replay a recorded session (cassette, see docs/architecture.md "Cassette format").

Recorded server events are grouped into batches: the batch before the first client event is
sent on connect; every later batch is released when the live client sends the event that
preceded it in the recording (matched in order by ``type``; extra or missing
``input_audio_buffer.append`` events are tolerated). A mismatch gets an ``error`` event with
code ``cassette_mismatch``. Same interface as :class:`~.engine.SimulatorEngine`.
"""

from __future__ import annotations

import json
import os
from collections import deque
from typing import Any

from ...errors import ConfigError, Issue
from .vocabulary import Batch, IdFactory

__all__ = ("Cassette", "CassetteReplay", "load_cassette")

_APPEND = "input_audio_buffer.append"


class Cassette:
    """A parsed cassette: the opening server events, then (client type, server events) steps."""

    def __init__(self, opening: list[dict[str, Any]], steps: list[tuple[str, list[dict[str, Any]]]]) -> None:
        self.opening = opening
        self.steps = steps


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read a cassette file. :raises ConfigError: located at the offending line."""
    name = os.fspath(path)

    def bad(line: int | None, message: str) -> ConfigError:
        return ConfigError([Issue(code="cassette", message=message, file=name, line=line,
                                  column=1 if line else None,
                                  hint="record cassettes with `rtgraph run --record FILE`")])

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise bad(None, f"cannot read cassette: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(data[:exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    # Blank lines are skipped everywhere, so a file of blank lines is empty and has no header.
    records = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not records:
        raise bad(None, "empty cassette")
    opening: list[dict[str, Any]] = []
    steps: list[tuple[str, list[dict[str, Any]]]] = []
    for number, line in records:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bad(number, f"not JSON: {exc.msg}") from None
        if number == records[0][0]:
            if not isinstance(record, dict) or record.get("cassette") != 1:
                raise bad(number, 'the first line must be the header {"cassette": 1, ...}')
            continue
        if not isinstance(record, dict) or record.get("dir") not in ("client", "server") \
                or not isinstance(record.get("event"), dict) or "type" not in record["event"]:
            raise bad(number, 'each line must be {"t": ..., "dir": "client"|"server", "event": {"type": ...}}')
        if record["dir"] == "client":
            steps.append((record["event"]["type"], []))
        elif steps:
            steps[-1][1].append(record["event"])
        else:
            opening.append(record["event"])
    return Cassette(opening, steps)


class CassetteReplay:
    """Plays one cassette to one connection."""

    def __init__(self, cassette: Cassette) -> None:
        self._steps = deque(cassette.steps)
        self._opening = cassette.opening
        self._ids = IdFactory(0)

    def open(self) -> list[dict[str, Any]]:
        return list(self._opening)

    def next_batch(self) -> Batch | None:
        return None

    @property
    def responding(self) -> bool:
        return False

    def receive(self, event: Any) -> list[dict[str, Any]]:
        kind = event.get("type") if isinstance(event, dict) else None
        while self._steps and self._steps[0][0] == _APPEND and kind != _APPEND:
            self._steps.popleft()  # the live client streamed less audio than the recording
        if self._steps and self._steps[0][0] == kind:
            return list(self._steps.popleft()[1])
        if kind == _APPEND:
            return []  # more audio than recorded: nothing to release
        expected = self._steps[0][0] if self._steps else "nothing (the cassette is finished)"
        return [self._ids.error_event("cassette_mismatch",
                                      f"cassette expected a {expected} client event here, got {kind!r}",
                                      client=event)]
