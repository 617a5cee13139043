"""How much of the assistant's audio the user has actually heard.

The session feeds every received audio chunk to :meth:`PlaybackTracker.on_audio_received`. On a
barge-in, an ``interrupt()`` or a guardrail trip it asks :meth:`PlaybackTracker.state` how many
milliseconds of the current item were played, to truncate the server-side item there (so the
model does not "remember" saying what nobody heard).

Two ways to know what was played:

- wall clock (default): playback is assumed to start with the item's first audio chunk and run in
  real time, like the SDK's default tracker;
- reported: a remote player (a phone bridge, a browser) calls :meth:`on_play_bytes` or
  :meth:`on_play_ms` as audio really plays and :meth:`on_interrupted` when it flushed its buffer.
  Construct with ``reported=True``, or just start reporting: the first report switches the
  tracker to reported mode for the rest of the session.

Played time is always clamped to the audio actually received (the API rejects a truncate past
the end of the item).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..audio import bytes_per_ms, format_from_wire

__all__ = ("PlaybackState", "PlaybackTracker")


@dataclass(frozen=True, slots=True)
class PlaybackState:
    """The current assistant audio item: how much arrived and how much was played (ms)."""

    item_id: str
    content_index: int
    response_id: str
    received_ms: float
    played_ms: float

    @property
    def finished(self) -> bool:
        """Everything received was played."""
        return self.played_ms >= self.received_ms


class PlaybackTracker:
    """Tracks received and played audio of the latest assistant audio item."""

    __slots__ = (
        "_bytes_per_ms",
        "_clock",
        "_content_index",
        "_item",
        "_played_ms",
        "_received_bytes",
        "_response_id",
        "_started",
        "reported",
    )

    def __init__(self, *, reported: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.reported = reported
        self._clock = clock
        self._bytes_per_ms = 48
        self._item: str | None = None
        self._content_index = 0
        self._response_id = ""
        self._received_bytes = 0
        self._started = 0.0
        self._played_ms = 0.0

    # -- the session's side -------------------------------------------------------------------

    def set_format(self, wire_format: Mapping[str, Any] | None) -> None:
        """Use the session's ``audio.output.format`` for bytes → milliseconds."""
        self._bytes_per_ms = bytes_per_ms(format_from_wire(wire_format))

    def on_audio_received(self, item_id: str, content_index: int, response_id: str, nbytes: int) -> None:
        """One audio chunk arrived from the model (called per ``response.output_audio.delta``)."""
        if item_id != self._item or content_index != self._content_index:
            self._item = item_id
            self._content_index = content_index
            self._response_id = response_id
            self._received_bytes = 0
            self._started = self._clock()
            self._played_ms = 0.0
        self._received_bytes += nbytes

    def state(self) -> PlaybackState | None:
        """The current item, or None when no audio was received since the last reset."""
        if self._item is None:
            return None
        received = self._received_bytes / self._bytes_per_ms
        played = self._played_ms if self.reported else (self._clock() - self._started) * 1000.0
        return PlaybackState(self._item, self._content_index, self._response_id, received,
                             min(max(played, 0.0), received))

    def reset(self) -> None:
        """Forget the current item (after an interruption was handled)."""
        self._item = None
        self._received_bytes = 0
        self._played_ms = 0.0

    # -- the player's side --------------------------------------------------------------------

    def on_play_bytes(self, item_id: str, content_index: int, nbytes: int) -> None:
        """The player played ``nbytes`` more bytes of this item."""
        self.on_play_ms(item_id, content_index, nbytes / self._bytes_per_ms)

    def on_play_ms(self, item_id: str, content_index: int, ms: float) -> None:
        """The player played ``ms`` more milliseconds of this item."""
        self.reported = True
        if item_id == self._item and content_index == self._content_index:
            self._played_ms += ms

    def on_interrupted(self) -> None:
        """The player flushed its buffer: nothing more of the current item will be played."""
        self.reported = True
        if self._item is not None:
            self._received_bytes = min(self._received_bytes, int(self._played_ms * self._bytes_per_ms))
