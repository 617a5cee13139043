"""realtime_graph.audio: formats, G.711 reference values, resampling, synthesis."""

from __future__ import annotations

import pytest

from realtime_graph import audio


def _pcm(*samples: int) -> bytes:
    return b"".join(s.to_bytes(2, "little", signed=True) for s in samples)


def test_formats_from_wire_and_sizes() -> None:
    assert audio.format_from_wire(None) is audio.PCM24K
    assert audio.format_from_wire({"type": "audio/pcm", "rate": 24000}) is audio.PCM24K
    assert audio.format_from_wire({"type": "audio/pcmu"}) is audio.PCMU
    assert audio.format_from_wire({"type": "audio/pcma"}) is audio.PCMA
    assert [audio.bytes_per_ms(f) for f in (audio.PCM24K, audio.PCMU, audio.PCMA)] == [48, 8, 8]
    assert audio.duration_ms(audio.PCM24K, 4800) == 100.0
    assert audio.duration_ms(audio.PCMU, 800) == 100.0
    assert audio.PCM24K.to_wire() == {"type": "audio/pcm", "rate": 24000}
    assert audio.PCMU.to_wire() == {"type": "audio/pcmu"}


def test_bad_formats_name_the_fix() -> None:
    with pytest.raises(ValueError, match="unknown audio format type 'pcm16'; use one of"):
        audio.format_from_wire({"type": "pcm16"})
    with pytest.raises(ValueError, match="rate must be 24000, got 16000"):
        audio.format_from_wire({"type": "audio/pcm", "rate": 16000})


def test_ulaw_reference_values() -> None:
    # ITU-T G.711 / audioop reference values.
    assert audio.ulaw_encode(_pcm(0, -1, 32767, -32768, 1000, -1000)) == bytes([0xFF, 0x7E, 0x80, 0x00, 0xCE, 0x4E])
    assert audio.ulaw_decode(bytes([0xFF, 0x00, 0x80, 0x7F])) == _pcm(0, -32124, 32124, 0)


def test_alaw_reference_values() -> None:
    assert audio.alaw_encode(_pcm(0, -1, 32767, -32768, 1000)) == bytes([0xD5, 0x55, 0xAA, 0x2A, 0xFA])
    assert audio.alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])) == _pcm(8, -8, 32256, -32256)


@pytest.mark.parametrize(("encode", "decode"), [(audio.ulaw_encode, audio.ulaw_decode),
                                                 (audio.alaw_encode, audio.alaw_decode)])
def test_g711_round_trip_within_quantisation(encode, decode) -> None:
    samples = list(range(-32768, 32768, 97))
    back = decode(encode(_pcm(*samples)))
    decoded = [int.from_bytes(back[i:i + 2], "little", signed=True) for i in range(0, len(back), 2)]
    for original, got in zip(samples, decoded, strict=True):
        # G.711 keeps 4 mantissa bits: error is at most ~1/16 of the magnitude (plus the small step).
        assert abs(original - got) <= max(abs(original) // 16 + 16, 132), (original, got)


def test_resample_lengths_and_linear_values() -> None:
    one_second_24k = audio.synthesize_speech("hello", 1000)
    for rate in (8000, 16000, 44100, 48000):
        assert len(audio.resample_pcm16(one_second_24k, 24000, rate)) == 2 * rate
    assert audio.resample_pcm16(_pcm(0, 100), 8000, 16000) == _pcm(0, 50, 100, 100)
    assert audio.resample_pcm16(_pcm(0, 30, 60, 90, 120, 150), 24000, 8000) == _pcm(0, 90)
    with pytest.raises(ValueError, match="even number of bytes"):
        audio.resample_pcm16(b"\x00", 8000, 24000)


def test_encode_pcm16_to_wire_formats() -> None:
    pcm = audio.synthesize_speech("abc", 100)
    assert len(audio.encode_pcm16(pcm, 24000, audio.PCM24K)) == 4800
    assert len(audio.encode_pcm16(pcm, 24000, audio.PCMU)) == 800
    assert len(audio.decode_to_pcm16(audio.encode_pcm16(pcm, 24000, audio.PCMA), audio.PCMA)) == 1600


def test_synthesis_is_deterministic_exact_length_and_loud() -> None:
    a = audio.synthesize_speech("Hello there", 730, audio.PCMU)
    assert a == audio.synthesize_speech("Hello there", 730, audio.PCMU)
    assert len(a) == 730 * 8
    pcm = audio.synthesize_speech("Hello", 500)
    assert audio.rms(pcm) > 3000
    assert audio.rms(audio.silence(audio.PCM24K, 100)) == 0
    assert audio.rms(audio.decode_to_pcm16(audio.silence(audio.PCMU, 100), audio.PCMU)) == 0
    assert audio.rms(audio.decode_to_pcm16(audio.silence(audio.PCMA, 100), audio.PCMA)) < 10
