"""Standard Webhooks verification, cross-checked with the openai package, and the redelivery guard."""

from __future__ import annotations

import base64
import time

import pytest
from openai import OpenAI
from openai._exceptions import InvalidWebhookSignatureError

from realtime_graph.errors import RealtimeGraphError
from realtime_graph.telephony import RedeliveryGuard, SignatureError, sign_webhook, verify_webhook, webhook_headers

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = b'{"object":"event","id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1","sip_headers":[]}}'
NOW = 1_750_287_078


def _headers(ts: int = NOW, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return webhook_headers(body, secret=secret, webhook_id="wh_1", timestamp=ts)


def test_valid_signature_returns_the_webhook_id():
    assert verify_webhook(BODY, _headers(), secret=SECRET, now=NOW) == "wh_1"


def test_headers_are_case_insensitive_and_any_of_several_signatures_matches():
    h = _headers()
    sig = h["webhook-signature"]
    headers = {"Webhook-Id": "wh_1", "WEBHOOK-TIMESTAMP": str(NOW), "webhook-signature": f"v1,AAAA v1,bogus= {sig}"}
    assert verify_webhook(BODY, headers, secret=SECRET, now=NOW) == "wh_1"


def test_known_vector():
    # computed independently: base64(HMAC-SHA256(key, "wh_1.1750287078." + body))
    import hashlib
    import hmac
    key = b"0123456789abcdef0123456789abcdef"
    expected = base64.b64encode(hmac.new(key, b"wh_1.1750287078." + BODY, hashlib.sha256).digest()).decode()
    assert sign_webhook(BODY, secret=SECRET, webhook_id="wh_1", timestamp=NOW) == "v1," + expected


@pytest.mark.parametrize(("change", "message"), [
    ({"body": BODY + b" "}, "webhook signature does not match: wrong secret, or the body was changed"),
    ({"secret": "whsec_" + base64.b64encode(b"other").decode()},
     "webhook signature does not match: wrong secret, or the body was changed"),
])
def test_wrong_body_or_secret(change, message):
    body = change.get("body", BODY)
    headers = _headers(secret=change.get("secret", SECRET))
    with pytest.raises(SignatureError) as info:
        verify_webhook(body, headers, secret=SECRET, now=NOW)
    assert str(info.value) == message
    assert isinstance(info.value, RealtimeGraphError)
    assert SECRET not in str(info.value)


def test_tolerance_both_ways_edges_included():
    assert verify_webhook(BODY, _headers(NOW - 300), secret=SECRET, now=NOW) == "wh_1"
    assert verify_webhook(BODY, _headers(NOW + 300), secret=SECRET, now=NOW) == "wh_1"
    with pytest.raises(SignatureError, match=r"^webhook timestamp is too old \(301 s > 300 s\)"):
        verify_webhook(BODY, _headers(NOW - 301), secret=SECRET, now=NOW)
    with pytest.raises(SignatureError, match=r"^webhook timestamp is too new \(301 s ahead > 300 s\)"):
        verify_webhook(BODY, _headers(NOW + 301), secret=SECRET, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing):
    headers = {k: v for k, v in _headers().items() if k != missing}
    with pytest.raises(SignatureError, match=f"^missing {missing} header"):
        verify_webhook(BODY, headers, secret=SECRET, now=NOW)


def test_bad_timestamp_no_v1_and_bad_secret():
    with pytest.raises(SignatureError, match=r"^webhook-timestamp 'soon' is not unix seconds$"):
        verify_webhook(BODY, {**_headers(), "webhook-timestamp": "soon"}, secret=SECRET, now=NOW)
    with pytest.raises(SignatureError, match="no v1,<base64> signature"):
        verify_webhook(BODY, {**_headers(), "webhook-signature": "v2,abc"}, secret=SECRET, now=NOW)
    with pytest.raises(SignatureError, match="rest is not base64"):
        verify_webhook(BODY, _headers(), secret="whsec_***", now=NOW)
    with pytest.raises(SignatureError, match="no webhook secret configured"):
        verify_webhook(BODY, _headers(), secret="", now=NOW)


def test_raw_secret_without_prefix_is_utf8_bytes():
    headers = webhook_headers(BODY, secret="plain-secret", webhook_id="wh_2", timestamp=NOW)
    assert verify_webhook(BODY, headers, secret="plain-secret", now=NOW) == "wh_2"


@pytest.mark.parametrize("secret", [SECRET, "plain-secret"])
def test_cross_check_with_the_openai_package(secret):
    client = OpenAI(api_key="sk-test", webhook_secret=secret)
    ts = int(time.time())
    ours = webhook_headers(BODY, secret=secret, webhook_id="wh_x", timestamp=ts)
    client.webhooks.verify_signature(BODY, ours)  # theirs accepts ours
    event = client.webhooks.unwrap(BODY, ours)
    assert event.type == "realtime.call.incoming"
    assert event.data.call_id == "rtc_1"
    # theirs rejects a tampered body, like ours
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.verify_signature(BODY + b"x", ours)
    # a signature made by the openai package's own primitive verifies with ours
    from openai.lib._webhooks import webhook_signature_matches
    assert webhook_signature_matches(BODY, ours, secret=secret, tolerance=300)
    assert verify_webhook(BODY, ours, secret=secret) == "wh_x"


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_redelivery_guard_by_webhook_id_and_call_id():
    guard = RedeliveryGuard(capacity=8)
    assert guard.first_time("wh_1", "rtc_1") is True
    assert guard.first_time("wh_1", "rtc_1") is False  # same delivery again
    assert guard.first_time("wh_2", "rtc_1") is False  # new delivery, same call
    assert guard.first_time("wh_3", "rtc_2") is True
    guard.forget("wh_3", "rtc_2")
    assert guard.first_time("wh_3", "rtc_2") is True  # retried after a failed accept


def test_redelivery_guard_is_bounded_and_expires():
    clock = _Clock()
    guard = RedeliveryGuard(capacity=4, ttl=10.0, clock=clock)
    for i in range(10):
        assert guard.first_time(f"wh_{i}")
    assert len(guard) == 4
    assert guard.seen("id:wh_9") and not guard.seen("id:wh_0")
    clock.t = 11.0
    assert guard.first_time("wh_9") is True
    assert len(guard) == 1
    with pytest.raises(ValueError):
        RedeliveryGuard(capacity=0)
