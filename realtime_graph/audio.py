"""Audio formats of the GA Realtime API and the small amount of DSP the project needs.

Pure stdlib (no ``audioop``: it is deprecated). Everything works on ``bytes``:

- :class:`AudioFormat` descriptors for the three GA wire formats (``PCM24K``, ``PCMU``, ``PCMA``),
  :func:`format_from_wire`, :func:`bytes_per_ms`, :func:`duration_ms`;
- G.711 μ-law / A-law codecs (:func:`ulaw_encode`, :func:`ulaw_decode`, :func:`alaw_encode`,
  :func:`alaw_decode`) built on lookup tables;
- :func:`resample_pcm16` (linear interpolation) and :func:`encode_pcm16` / :func:`decode_to_pcm16`
  to move 16-bit PCM at any rate into and out of a wire format;
- a deterministic speech-like synthesiser (:func:`synthesize_speech`) and :func:`silence`, used by
  the simulator and by tests, plus :func:`rms` for energy-based voice detection.

PCM is always 16-bit signed little-endian mono.
"""

from __future__ import annotations

import functools
import math
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = (
    "PCM24K",
    "PCMA",
    "PCMU",
    "AudioFormat",
    "alaw_decode",
    "alaw_encode",
    "bytes_per_ms",
    "decode_to_pcm16",
    "duration_ms",
    "encode_pcm16",
    "format_from_wire",
    "resample_pcm16",
    "rms",
    "silence",
    "synthesize_speech",
    "tone",
    "ulaw_decode",
    "ulaw_encode",
)

_BIG_ENDIAN = sys.byteorder == "big"


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """One GA audio format: ``type`` as on the wire, sample ``rate`` and bytes per sample."""

    type: str
    rate: int
    sample_width: int

    def to_wire(self) -> dict[str, Any]:
        """The ``format`` object as the GA session config spells it."""
        if self.type == "audio/pcm":
            return {"type": self.type, "rate": self.rate}
        return {"type": self.type}


PCM24K = AudioFormat("audio/pcm", 24000, 2)
"""16-bit little-endian mono PCM at 24 kHz (48 bytes per millisecond); the GA default."""
PCMU = AudioFormat("audio/pcmu", 8000, 1)
"""G.711 μ-law at 8 kHz (8 bytes per millisecond)."""
PCMA = AudioFormat("audio/pcma", 8000, 1)
"""G.711 A-law at 8 kHz (8 bytes per millisecond)."""

_BY_TYPE = {f.type: f for f in (PCM24K, PCMU, PCMA)}


def format_from_wire(wire: Mapping[str, Any] | None) -> AudioFormat:
    """The format named by a GA ``format`` object; ``None`` means the default (PCM 24 kHz).

    :raises ValueError: for an unknown type or a PCM rate other than 24000 (the only GA rate).
    """
    if wire is None:
        return PCM24K
    kind = wire.get("type")
    fmt = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if fmt is None:
        raise ValueError(
            f"unknown audio format type {kind!r}; use one of 'audio/pcm', 'audio/pcmu', 'audio/pcma'"
        )
    if fmt is PCM24K and wire.get("rate", 24000) != 24000:
        raise ValueError(f"audio/pcm rate must be 24000, got {wire.get('rate')!r}")
    return fmt


def bytes_per_ms(fmt: AudioFormat) -> int:
    """Bytes of ``fmt`` audio per millisecond: 48 for PCM 24 kHz, 8 for G.711."""
    return fmt.rate * fmt.sample_width // 1000


def duration_ms(fmt: AudioFormat, nbytes: int) -> float:
    """Milliseconds of audio that ``nbytes`` bytes of ``fmt`` hold."""
    return nbytes / bytes_per_ms(fmt)


# --- G.711 -------------------------------------------------------------------------------------
# Tables follow the ITU-T G.711 reference (Sun Microsystems g711.c): encoders are indexed by the
# unsigned 16-bit sample, decoders by the code byte.


def _ulaw_from_linear(sample: int) -> int:
    # 14-bit reference: floor to 14 bits, then sign-magnitude with a bias of 33.
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    magnitude = min(-value if value < 0 else value, 8159) + 33
    segment = magnitude.bit_length() - 6
    if segment > 7:
        return 0x7F ^ mask
    segment = max(segment, 0)
    return ((segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)) ^ mask


def _linear_from_ulaw(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return -magnitude if code & 0x80 else magnitude


_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _alaw_from_linear(sample: int) -> int:
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = next((i for i, end in enumerate(_ALAW_SEGMENT_ENDS) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    code = segment << 4
    code |= (value >> 1 if segment < 2 else value >> segment) & 0x0F
    return code ^ mask


def _linear_from_alaw(code: int) -> int:
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


def _signed(unsigned: int) -> int:
    return unsigned - 0x10000 if unsigned & 0x8000 else unsigned


@functools.cache
def _encode_table(law: str) -> bytes:
    encode = _ulaw_from_linear if law == "u" else _alaw_from_linear
    return bytes(encode(_signed(u)) for u in range(0x10000))


@functools.cache
def _decode_table(law: str) -> tuple[bytes, ...]:
    decode = _linear_from_ulaw if law == "u" else _linear_from_alaw
    return tuple(decode(code).to_bytes(2, "little", signed=True) for code in range(256))


def _samples(pcm: bytes) -> array[int]:
    """``pcm`` (little-endian 16-bit) as an ``array('h')`` in native byte order."""
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(pcm)}")
    samples = array("h", pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def _pcm_bytes(samples: array[int]) -> bytes:
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples.tobytes()


def _g711_encode(pcm: bytes, law: str) -> bytes:
    unsigned = _samples(pcm)
    table = _encode_table(law)
    return bytes(map(table.__getitem__, memoryview(unsigned).cast("B").cast("H")))


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM → G.711 μ-law, one byte per sample."""
    return _g711_encode(pcm, "u")


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM → G.711 A-law, one byte per sample."""
    return _g711_encode(pcm, "a")


def ulaw_decode(data: bytes) -> bytes:
    """G.711 μ-law → 16-bit PCM."""
    return b"".join(map(_decode_table("u").__getitem__, data))


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law → 16-bit PCM."""
    return b"".join(map(_decode_table("a").__getitem__, data))


# --- resampling and format conversion ----------------------------------------------------------


def resample_pcm16(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample mono 16-bit PCM by linear interpolation (e.g. 8/16/44.1/48 kHz → 24 kHz)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    if from_rate == to_rate or not pcm:
        return pcm
    source = _samples(pcm)
    last = len(source) - 1
    out = array("h", bytes(2 * (len(source) * to_rate // from_rate)))
    for i in range(len(out)):
        # Exact rational position: i * from / to, split into integer index and remainder.
        index, remainder = divmod(i * from_rate, to_rate)
        if index >= last:
            out[i] = source[last]
        else:
            a = source[index]
            out[i] = a + (source[index + 1] - a) * remainder // to_rate
    return _pcm_bytes(out)


def encode_pcm16(pcm: bytes, rate: int, fmt: AudioFormat) -> bytes:
    """16-bit PCM at ``rate`` → wire bytes in ``fmt`` (resampled and G.711-encoded as needed)."""
    pcm = resample_pcm16(pcm, rate, fmt.rate)
    if fmt is PCMU:
        return ulaw_encode(pcm)
    if fmt is PCMA:
        return alaw_encode(pcm)
    return pcm


def decode_to_pcm16(data: bytes, fmt: AudioFormat) -> bytes:
    """Wire bytes in ``fmt`` → 16-bit PCM at ``fmt.rate``."""
    if fmt is PCMU:
        return ulaw_decode(data)
    if fmt is PCMA:
        return alaw_decode(data)
    return data


def rms(pcm: bytes) -> float:
    """Root-mean-square level of 16-bit PCM (0 for silence, ~23000 for a full-scale sine)."""
    if not pcm:
        return 0.0
    samples = _samples(pcm)
    return math.sqrt(sum(s * s for s in samples) / len(samples))


# --- synthesis ---------------------------------------------------------------------------------

_SEGMENT_MS = 60


def tone(frequency: float, ms: int, *, rate: int = 24000, amplitude: float = 0.3) -> bytes:
    """A sine tone as 16-bit PCM, with 5 ms fades so segments join without clicks."""
    count = rate * ms // 1000
    fade = max(1, rate * 5 // 1000)
    peak = amplitude * 32767
    step = 2 * math.pi * frequency / rate
    samples = array(
        "h",
        (
            int(peak * min(1.0, i / fade, (count - i) / fade) * math.sin(step * i))
            for i in range(count)
        ),
    )
    return _pcm_bytes(samples)


def silence(fmt: AudioFormat, ms: int) -> bytes:
    """``ms`` milliseconds of digital silence in ``fmt``."""
    nbytes = ms * bytes_per_ms(fmt)
    if fmt is PCMU:
        return b"\xff" * nbytes
    if fmt is PCMA:
        return b"\xd5" * nbytes
    return bytes(nbytes)


@functools.cache
def _syllable(char: str, fmt: AudioFormat) -> bytes:
    if char.isspace():
        return silence(fmt, _SEGMENT_MS)
    # A voice-band pitch that depends only on the character: deterministic, speech-like energy.
    frequency = 140 + (ord(char) % 32) * 12
    return encode_pcm16(tone(frequency, _SEGMENT_MS), 24000, fmt)


def synthesize_speech(text: str, ms: int, fmt: AudioFormat = PCM24K) -> bytes:
    """Exactly ``ms`` milliseconds of deterministic speech-like audio for ``text`` in ``fmt``.

    One 60 ms tone per character (spaces are pauses), cycling through ``text`` until ``ms`` is
    filled. Segments are cached, so generating long answers is cheap.
    """
    nbytes = ms * bytes_per_ms(fmt)
    if nbytes <= 0:
        return b""
    chars = text or "a"
    parts: list[bytes] = []
    produced = 0
    index = 0
    while produced < nbytes:
        part = _syllable(chars[index % len(chars)], fmt)
        parts.append(part)
        produced += len(part)
        index += 1
    return b"".join(parts)[:nbytes]
