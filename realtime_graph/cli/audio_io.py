"""Audio in and out of ``rtgraph run``: WAV files, and live devices through optional sounddevice.

Everything is converted at this edge: input becomes the session's input wire format (resampled
and G.711-encoded by :mod:`realtime_graph.audio`), output is decoded to 16-bit PCM before it is
written or played. Problems are :class:`UserFacingError` with one line that says what to do.
"""

from __future__ import annotations

import os
import wave
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio

from ..audio import AudioFormat, bytes_per_ms, decode_to_pcm16, encode_pcm16
from .reporting import UserFacingError

__all__ = ("CHUNK_MS", "Speaker", "WavRecorder", "import_sounddevice", "microphone_chunks", "wav_chunks")

CHUNK_MS = 50
"""Size of each ``input_audio_buffer.append``: what a microphone callback typically delivers."""


def _downmix(pcm: bytes, channels: int) -> bytes:
    if channels == 1:
        return pcm
    from array import array

    samples = array("h", pcm)
    mono = array("h", (sum(samples[i:i + channels]) // channels for i in range(0, len(samples), channels)))
    return mono.tobytes()


def wav_chunks(path: str | os.PathLike[str], fmt: AudioFormat) -> Iterator[bytes]:
    """The WAV file's audio as ``CHUNK_MS`` chunks in wire format ``fmt``.

    Accepts 16-bit PCM WAV at any rate, mono or multi-channel (averaged to mono).
    """
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise UserFacingError(f"{os.fspath(path)}: {8 * wav.getsampwidth()}-bit WAV is not supported; "
                                      "convert it to 16-bit PCM (e.g. sox in.wav -b 16 out.wav)")
            channels, rate = wav.getnchannels(), wav.getframerate()
            pcm = _downmix(wav.readframes(wav.getnframes()), channels)
    except (wave.Error, EOFError) as exc:
        raise UserFacingError(f"{os.fspath(path)}: not a readable WAV file ({exc})") from None
    except OSError as exc:
        raise UserFacingError(f"{os.fspath(path)}: {exc.strerror or exc}") from None
    wire = encode_pcm16(pcm, rate, fmt)
    step = CHUNK_MS * bytes_per_ms(fmt)
    for start in range(0, len(wire), step):
        yield wire[start:start + step]


class WavRecorder:
    """Appends assistant audio (wire format ``fmt``) to a 16-bit PCM WAV file."""

    def __init__(self, path: str | os.PathLike[str], fmt: AudioFormat) -> None:
        self._fmt = fmt
        # The file is opened here, not by wave.open(path): a Wave_write whose file never opened
        # still runs its __del__, which prints a traceback after our one-line message.
        try:
            # Both are closed in close(): they outlive this method.
            self._file = open(path, "wb")  # noqa: SIM115
        except OSError as exc:
            raise UserFacingError(f"{os.fspath(path)}: cannot write WAV: {exc.strerror or exc}") from None
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(fmt.rate)

    def write(self, audio: bytes) -> None:
        self._wav.writeframes(decode_to_pcm16(audio, self._fmt))

    def close(self) -> None:
        try:
            self._wav.close()  # writes the final header sizes; leaves a caller's file object open
        finally:
            self._file.close()


def import_sounddevice() -> Any:
    """The sounddevice module, or a one-line explanation of what is missing."""
    try:
        import sounddevice
    except ModuleNotFoundError:
        raise UserFacingError("live audio needs the optional extra: pip install 'realtime-graph[audio]'") from None
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is absent
        raise UserFacingError(f"live audio needs the PortAudio library ({exc}); install it, "
                              "e.g. apt-get install libportaudio2 or brew install portaudio") from None
    try:
        sounddevice.query_devices(kind="input")
        sounddevice.query_devices(kind="output")
    except Exception as exc:
        raise UserFacingError(f"no audio device available ({exc}); use --input-wav/--output-wav instead") from None
    return sounddevice


async def microphone_chunks(sounddevice: Any, fmt: AudioFormat) -> AsyncIterator[bytes]:
    """Live microphone audio as ``CHUNK_MS`` chunks in wire format ``fmt``."""
    frames = fmt.rate * CHUNK_MS // 1000
    stream = sounddevice.RawInputStream(samplerate=fmt.rate, channels=1, dtype="int16", blocksize=frames)
    with stream:
        while True:
            # A blocking read returns after one chunk (CHUNK_MS), so cancellation waits at most that.
            data, _overflowed = await anyio.to_thread.run_sync(stream.read, frames)
            yield encode_pcm16(bytes(data), fmt.rate, fmt)


class Speaker:
    """Plays assistant audio on the default output device."""

    def __init__(self, sounddevice: Any, fmt: AudioFormat) -> None:
        self._fmt = fmt
        self._stream = sounddevice.RawOutputStream(samplerate=fmt.rate, channels=1, dtype="int16")
        self._stream.start()

    async def play(self, audio: bytes) -> None:
        await anyio.to_thread.run_sync(self._stream.write, decode_to_pcm16(audio, self._fmt))

    def stop(self) -> None:
        """Drop what is buffered (barge-in) by restarting the stream."""
        self._stream.abort()
        self._stream.start()

    def close(self) -> None:
        self._stream.close()
