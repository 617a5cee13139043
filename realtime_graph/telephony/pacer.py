"""Outbound audio to Twilio as fixed frames with marks, and what the caller has really heard (pure).

Every :data:`FRAME_BYTES` (20 ms of µ-law 8 kHz) frame goes out as a ``media`` message followed by
a ``mark`` whose name carries the generation, a sequence number, the item id and the content
index. Twilio echoes a mark when the audio before it has played (and also when ``clear``
dropped it). :meth:`OutboundPacer.on_mark` turns an echo of the current generation into
:class:`Played` bytes for ``PlaybackTracker.on_play_bytes``; on a barge-in
:meth:`OutboundPacer.interrupt` returns the ``clear`` message and starts a new generation, so
marks of the cleared audio that echo afterwards are ignored (the lesson of openai-agents-js
#1173: never let audio that was dropped count as heard). Partial frames are held until the
item's audio ends, then padded with µ-law silence (padding never counts as heard).
"""

from __future__ import annotations

from dataclasses import dataclass

from .media_codec import clear_message, mark_message, media_message

__all__ = ("FRAME_BYTES", "MULAW_SILENCE", "OutboundPacer", "Played")

FRAME_BYTES = 160
"""20 ms of µ-law at 8 kHz."""

MULAW_SILENCE = b"\xff"


@dataclass(frozen=True, slots=True)
class Played:
    """Real (unpadded) audio bytes of an item the caller heard, from one echoed mark."""

    item_id: str
    content_index: int
    nbytes: int


class OutboundPacer:
    """Frames one stream's outbound audio and tracks its marks."""

    __slots__ = ("_acked", "_buffer", "_buffer_item", "_frame", "_pending", "_seq", "generation",
                 "stale_marks", "stream_sid")

    def __init__(self, stream_sid: str, *, frame_bytes: int = FRAME_BYTES) -> None:
        self.stream_sid = stream_sid
        self._frame = frame_bytes
        self.generation = 0
        self.stale_marks = 0
        self._seq = 0
        self._buffer = bytearray()
        self._buffer_item: tuple[str, int] | None = None
        self._pending: dict[str, Played] = {}
        self._acked: dict[tuple[str, int], int] = {}

    @property
    def pending_marks(self) -> int:
        """Marks sent in this generation and not echoed yet (audio queued at Twilio)."""
        return len(self._pending)

    def acknowledged(self, item_id: str, content_index: int = 0) -> int:
        """Real bytes of the item the caller has heard so far (all generations)."""
        return self._acked.get((item_id, content_index), 0)

    def _emit(self, frame: bytes, real: int, key: tuple[str, int], out: list[str]) -> None:
        self._seq += 1
        name = f"g{self.generation}:{self._seq}:{key[0]}:{key[1]}"
        self._pending[name] = Played(key[0], key[1], real)
        out.append(media_message(self.stream_sid, frame))
        out.append(mark_message(self.stream_sid, name))

    def push(self, audio: bytes, item_id: str, content_index: int = 0) -> list[str]:
        """Messages for a chunk of the model's audio (whole frames only; the rest waits)."""
        out: list[str] = []
        key = (item_id, content_index)
        if self._buffer_item is not None and self._buffer_item != key:
            out.extend(self.finish(*self._buffer_item))
        self._buffer_item = key
        self._buffer += audio
        frame = self._frame
        whole = len(self._buffer) - len(self._buffer) % frame
        for start in range(0, whole, frame):
            self._emit(bytes(self._buffer[start:start + frame]), frame, key, out)
        del self._buffer[:whole]
        return out

    def finish(self, item_id: str, content_index: int = 0) -> list[str]:
        """The item's audio ended: send its last partial frame, padded with silence."""
        if self._buffer_item != (item_id, content_index) or not self._buffer:
            return []
        real = len(self._buffer)
        frame = bytes(self._buffer) + MULAW_SILENCE * (self._frame - real)
        self._buffer.clear()
        self._buffer_item = None
        out: list[str] = []
        self._emit(frame, real, (item_id, content_index), out)
        return out

    def on_mark(self, name: str) -> Played | None:
        """An echoed mark: the bytes heard, or None for a stale (cleared) or unknown mark."""
        played = self._pending.pop(name, None)
        if played is None:
            self.stale_marks += 1
            return None
        key = (played.item_id, played.content_index)
        self._acked[key] = self._acked.get(key, 0) + played.nbytes
        return played

    def interrupt(self) -> str:
        """Barge-in: the ``clear`` message; queued audio and its marks are forgotten."""
        self.generation += 1
        self._pending.clear()
        self._buffer.clear()
        self._buffer_item = None
        return clear_message(self.stream_sid)
