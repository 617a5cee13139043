"""X-Twilio-Signature, TwiML, the Media Streams codec and the outbound pacer."""

from __future__ import annotations

import base64
import json

import pytest

from realtime_graph.telephony import (
    FRAME_BYTES,
    OutboundPacer,
    PayloadError,
    Played,
    SignatureError,
    connect_stream_twiml,
    parse_message,
    twilio_signature,
    verify_twilio_signature,
    voice_parameters,
)
from realtime_graph.telephony.media_codec import Dtmf, MarkEcho, Media, StreamStart, StreamStop

# Twilio's documented example (webhooks-security page): token 12345, this URL and these params
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
          "To": "+18005551212"}


def test_twilio_documented_vector():
    assert twilio_signature(URL, PARAMS, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    verify_twilio_signature(URL, list(PARAMS.items())[::-1], "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")


@pytest.mark.parametrize(("url", "sig", "token", "message"), [
    (URL, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "54321", "X-Twilio-Signature does not match"),
    ("http://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345", "X-Twilio-Signature does not match"),
    (URL, None, "12345", "missing X-Twilio-Signature header"),
    (URL, "x", "", "no Twilio auth token configured: set TWILIO_AUTH_TOKEN"),
])
def test_twilio_bad_signatures(url, sig, token, message):
    with pytest.raises(SignatureError) as info:
        verify_twilio_signature(url, PARAMS, sig, token)
    assert str(info.value).startswith(message)


def test_twiml_escapes_parameters():
    xml = connect_stream_twiml("wss://agents.example.com/twilio/media",
                               {"From": "+1415", "note": '"<a&b>"'})
    assert xml == ('<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
                   '<Stream url="wss://agents.example.com/twilio/media">'
                   '<Parameter name="From" value="+1415"/>'
                   '<Parameter name="note" value=\'"&lt;a&amp;b&gt;"\'/>'
                   '</Stream></Connect></Response>')
    assert connect_stream_twiml("wss://h/twilio/media").endswith('<Stream url="wss://h/twilio/media"/></Connect></Response>')
    with pytest.raises(PayloadError, match="media stream URL must be wss://HOST/"):
        connect_stream_twiml("https://h/twilio/media")
    assert voice_parameters({"From": "+1", "To": "+2", "CallSid": "CA1", "AccountSid": "AC1"}) == {
        "From": "+1", "To": "+2", "CallSid": "CA1"}


def test_codec_inbound():
    start = parse_message(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "accountSid": "AC1", "callSid": "CA1", "tracks": ["inbound"],
        "customParameters": {"From": "+1415"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
    assert start == StreamStart(stream_sid="MZ1", call_sid="CA1", account_sid="AC1", tracks=("inbound",),
                                custom_parameters={"From": "+1415"})
    media = parse_message(json.dumps({"event": "media", "streamSid": "MZ1", "media": {
        "track": "inbound", "chunk": "2", "timestamp": "40", "payload": base64.b64encode(b"\x7f" * 160).decode()}}))
    assert media == Media(audio=b"\x7f" * 160, track="inbound", chunk=2, timestamp_ms=40)
    assert parse_message('{"event":"mark","streamSid":"MZ1","mark":{"name":"g0:1:item:0"}}') == MarkEcho("g0:1:item:0")
    assert parse_message('{"event":"dtmf","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"#"}}') == Dtmf("#")
    assert parse_message('{"event":"stop","stop":{"callSid":"CA1"}}') == StreamStop("CA1")
    assert parse_message('{"event":"something_new"}') is None


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "media stream message is not JSON"),
    ('{"no":"event"}', "media stream message must be an object with an `event`"),
    ('{"event":"media"}', "media message has no `media` object"),
    ('{"event":"media","media":{"payload":"***"}}', "media.payload is not base64"),
    ('{"event":"dtmf","dtmf":{"digit":"x"}}', "dtmf.digit 'x' is not a keypad digit (0-9, *, #, A-D)"),
    ('{"event":"start","start":{"callSid":"CA1"}}', "start.streamSid must be a string"),
])
def test_codec_errors(text, message):
    with pytest.raises(PayloadError) as info:
        parse_message(text)
    assert str(info.value).startswith(message)


def _decode(messages):
    return [json.loads(m) for m in messages]


def test_pacer_fixed_frames_with_marks_and_padding():
    pacer = OutboundPacer("MZ1")
    out = _decode(pacer.push(b"\x01" * 400, "item_A", 0))
    assert [m["event"] for m in out] == ["media", "mark", "media", "mark"]
    assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES for m in out if m["event"] == "media")
    assert out[1] == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "g0:1:item_A:0"}}
    tail = _decode(pacer.finish("item_A", 0))
    frame = base64.b64decode(tail[0]["media"]["payload"])
    assert frame == b"\x01" * 80 + b"\xff" * 80
    assert pacer.pending_marks == 3
    assert pacer.on_mark("g0:1:item_A:0") == Played("item_A", 0, 160)
    assert pacer.on_mark("g0:3:item_A:0") == Played("item_A", 0, 80)  # padding never counts
    assert pacer.acknowledged("item_A") == 240


def test_pacer_new_item_flushes_the_previous_partial_frame():
    pacer = OutboundPacer("MZ1")
    assert pacer.push(b"\x01" * 100, "a") == []
    out = _decode(pacer.push(b"\x02" * 160, "b"))
    assert [m.get("mark", {}).get("name") for m in out if m["event"] == "mark"] == ["g0:1:a:0", "g0:2:b:0"]


def test_pacer_interrupt_clears_and_ignores_stale_marks():
    pacer = OutboundPacer("MZ1")
    sent = _decode(pacer.push(b"\x01" * 800, "item_A"))
    names = [m["mark"]["name"] for m in sent if m["event"] == "mark"]
    assert pacer.on_mark(names[0]) is not None
    assert pacer.on_mark(names[1]) is not None
    assert json.loads(pacer.interrupt()) == {"event": "clear", "streamSid": "MZ1"}
    assert pacer.generation == 1 and pacer.pending_marks == 0
    # Twilio echoes the dropped marks after a clear: they must not count as heard
    assert [pacer.on_mark(n) for n in names[2:]] == [None, None, None]
    assert pacer.stale_marks == 3
    assert pacer.acknowledged("item_A") == 320
    after = _decode(pacer.push(b"\x03" * 160, "item_B"))
    assert after[1]["mark"]["name"] == "g1:6:item_B:0"
    assert pacer.on_mark("g1:6:item_B:0") == Played("item_B", 0, 160)
    assert pacer.on_mark("forged") is None
