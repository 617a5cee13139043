"""Pure parts of the Twilio channel: the public URL behind proxies, the stream URL, the busy answer."""

from __future__ import annotations

import pytest

from realtime_graph.serve.public_address import public_base, public_request_url, websocket_url
from realtime_graph.serve.twilio_channel import BUSY_TWIML
from realtime_graph.telephony.fakes.twilio_peer import parse_stream_twiml


@pytest.mark.parametrize(("headers", "public_url", "expected"), [
    ({"host": "127.0.0.1:8080"}, None, "http://127.0.0.1:8080"),
    ({"host": "10.0.0.5:8080", "x-forwarded-proto": "https", "x-forwarded-host": "voice.example.com"}, None,
     "https://voice.example.com"),
    ({"host": "10.0.0.5:8080", "x-forwarded-proto": "https, http", "x-forwarded-host": "a.example, b.example"}, None,
     "https://a.example"),  # several proxies: the first (client-facing) value
    ({"host": "voice.example.com", "x-forwarded-proto": "HTTPS"}, None, "https://voice.example.com"),
    ({"host": "10.0.0.5:8080", "x-forwarded-host": "spoofed.example"}, "https://voice.example.com/rt/",
     "https://voice.example.com/rt"),  # a configured public URL wins over headers
])
def test_public_base(headers, public_url, expected) -> None:
    assert public_base(scheme="http", host="127.0.0.1:8080", headers=headers, public_url=public_url) == expected


def test_request_and_stream_urls() -> None:
    assert public_request_url("https://v.example/rt", "/twilio/voice", "") == "https://v.example/rt/twilio/voice"
    assert public_request_url("https://v.example", "/twilio/voice", "a=1&b=2") == "https://v.example/twilio/voice?a=1&b=2"
    assert websocket_url("https://v.example/rt", "/twilio/media") == "wss://v.example/rt/twilio/media"
    assert websocket_url("http://127.0.0.1:8080", "/twilio/media") == "ws://127.0.0.1:8080/twilio/media"


def test_busy_answer_rejects_without_a_stream() -> None:
    assert BUSY_TWIML == '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>'
    assert parse_stream_twiml(BUSY_TWIML) is None


def test_a_public_twilio_only_server_needs_no_browser_token() -> None:
    from realtime_graph.graph.model import ServeSettings
    from realtime_graph.serve import ServeConfigError, resolve_options

    options = resolve_options(ServeSettings(host="0.0.0.0", browser=False, public_url="https://v.example/"),
                              environ={})
    assert (options.token, options.browser, options.twilio, options.public_url) == (None, False, True,
                                                                                    "https://v.example")
    with pytest.raises(ServeConfigError, match=r"refusing to serve on 0\.0\.0\.0 without a token"):
        resolve_options(ServeSettings(host="0.0.0.0"), environ={})
