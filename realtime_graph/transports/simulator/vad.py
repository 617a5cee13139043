"""A small energy voice-activity detector on the cumulative input-audio clock (pure).

Audio is judged in 10 ms frames: a frame is speech when its RMS level exceeds
``threshold * 2000`` (``threshold`` 0.5 → RMS 1000; a normal voice or the synthesiser is far
above, digital silence is 0). Speech starts on the first loud frame (reported
``prefix_padding_ms`` earlier, never before the buffer start) and stops after
``silence_duration_ms`` of quiet (semantic VAD: 250/500/800 ms for high/auto|medium/low
eagerness). With ``idle_timeout_ms``, that much quiet audio after a response triggers a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...audio import AudioFormat, bytes_per_ms, decode_to_pcm16, rms

__all__ = ("EnergyVad", "VadSignal")

_FRAME_MS = 10
_EAGERNESS_SILENCE_MS = {"high": 250, "medium": 500, "auto": 500, "low": 800}


@dataclass(frozen=True, slots=True)
class VadSignal:
    """``kind`` is ``"started"``, ``"stopped"`` or ``"timeout"``; times on the input clock."""

    kind: str
    start_ms: int
    end_ms: int = 0


class EnergyVad:
    """Feeds on appended audio; returns what happened (no events, no ids)."""

    def __init__(self) -> None:
        self.clock_ms = 0
        self.speaking = False
        self._speech_start = 0
        self._silence_ms = 0
        self._pending = b""
        self._idle_since: int | None = None

    def arm_idle_timeout(self) -> None:
        """Start counting idle time now (a response has just finished)."""
        self._idle_since = self.clock_ms

    def force_start(self) -> int:
        """Mark speech as started now (a scripted barge-in); returns ``audio_start_ms``."""
        self.speaking = True
        self._speech_start = self.clock_ms
        self._silence_ms = 0
        self._idle_since = None
        return self.clock_ms

    def reset(self) -> None:
        """Forget the current speech (the buffer was committed or cleared)."""
        self.speaking = False
        self._silence_ms = 0

    def feed(self, audio: bytes, fmt: AudioFormat, turn_detection: dict[str, Any] | None) -> list[VadSignal]:
        frame_bytes = _FRAME_MS * bytes_per_ms(fmt)
        data = self._pending + audio
        whole = len(data) - len(data) % frame_bytes
        self._pending = data[whole:]
        if turn_detection is None:
            self.clock_ms += whole // bytes_per_ms(fmt)
            return []
        threshold = float(turn_detection.get("threshold", 0.5)) * 2000
        silence_needed = turn_detection.get("silence_duration_ms")
        if silence_needed is None:
            silence_needed = _EAGERNESS_SILENCE_MS.get(turn_detection.get("eagerness", "auto"), 500)
        padding = int(turn_detection.get("prefix_padding_ms", 300) or 0)
        idle_timeout = turn_detection.get("idle_timeout_ms")
        signals: list[VadSignal] = []
        for offset in range(0, whole, frame_bytes):
            loud = rms(decode_to_pcm16(data[offset:offset + frame_bytes], fmt)) > threshold
            start = self.clock_ms
            self.clock_ms += _FRAME_MS
            if loud:
                self._silence_ms = 0
                if not self.speaking:
                    self.speaking = True
                    self._idle_since = None
                    self._speech_start = max(0, start - padding)
                    signals.append(VadSignal("started", self._speech_start))
            elif self.speaking:
                self._silence_ms += _FRAME_MS
                if self._silence_ms >= silence_needed:
                    self.speaking = False
                    signals.append(VadSignal("stopped", self._speech_start, self.clock_ms))
            elif idle_timeout and self._idle_since is not None and self.clock_ms - self._idle_since >= idle_timeout:
                signals.append(VadSignal("timeout", self._idle_since, self.clock_ms))
                self._idle_since = None
        return signals
