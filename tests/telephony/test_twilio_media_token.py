"""Stream tokens (pure): bound to the call and its parameters, expiring, one use each."""

from __future__ import annotations

import pytest

from realtime_graph.telephony import SignatureError
from realtime_graph.telephony.media_token import (
    TOKEN_PARAMETER,
    TokenLedger,
    check_media_token,
    issue_media_token,
    media_token_key,
)

KEY = media_token_key("auth-token")
PARAMS = {"From": "+15550001111", "To": "+15550002222", "CallSid": "CA1"}


def test_a_token_checks_for_its_call_and_parameters_until_it_expires() -> None:
    token = issue_media_token(KEY, "CA1", PARAMS, now=1000.0, ttl=120, nonce="n1")
    assert token.startswith("1120.n1.")
    # the token parameter itself is not part of what it signs (it travels among the parameters)
    assert check_media_token(KEY, token, "CA1", {**PARAMS, TOKEN_PARAMETER: token}, now=1100.0) == ("n1", 1120)


@pytest.mark.parametrize(("call_sid", "params", "key", "now", "message"), [
    ("CA2", PARAMS, KEY, 1000.0, "media stream token does not match this call (wrong callSid, altered parameters, "
                                 "or a different Twilio auth token)"),
    ("CA1", {**PARAMS, "To": "+1900"}, KEY, 1000.0, "media stream token does not match this call (wrong callSid, "
                                                    "altered parameters, or a different Twilio auth token)"),
    ("CA1", {**PARAMS, "line": "vip"}, KEY, 1000.0, "media stream token does not match this call (wrong callSid, "
                                                    "altered parameters, or a different Twilio auth token)"),
    ("CA1", PARAMS, media_token_key("other"), 1000.0, "media stream token does not match this call (wrong callSid, "
                                                      "altered parameters, or a different Twilio auth token)"),
    ("CA1", PARAMS, KEY, 1121.0, "media stream token expired: the stream started too long after /twilio/voice"),
])
def test_wrong_call_parameters_key_or_time_is_refused(call_sid, params, key, now, message) -> None:
    token = issue_media_token(KEY, "CA1", PARAMS, now=1000.0, ttl=120, nonce="n1")
    with pytest.raises(SignatureError) as info:
        check_media_token(key, token, call_sid, params, now=now)
    assert str(info.value) == message


@pytest.mark.parametrize(("token", "message"), [
    (None, "media stream without the rtgraph_token parameter: it was not started by this server's /twilio/voice "
           "answer"),
    ("", "media stream without the rtgraph_token parameter: it was not started by this server's /twilio/voice answer"),
    ("abc", "malformed media stream token"),
    ("x.n.mac", "malformed media stream token"),
    ("1120..mac", "malformed media stream token"),
])
def test_missing_or_malformed_tokens(token, message) -> None:
    with pytest.raises(SignatureError) as info:
        check_media_token(KEY, token, "CA1", PARAMS, now=1000.0)
    assert str(info.value) == message


def test_field_boundaries_cannot_be_shifted() -> None:
    # {"a": "bc"} and {"ab": "c"} concatenate alike; the length prefixes keep them apart
    token = issue_media_token(KEY, "CA1", {"a": "bc"}, now=0, nonce="n")
    with pytest.raises(SignatureError):
        check_media_token(KEY, token, "CA1", {"ab": "c"}, now=0)


def test_ledger_allows_each_nonce_once_and_forgets_expired_ones() -> None:
    ledger = TokenLedger(capacity=3)
    assert ledger.first_use("a", 100, now=0) is True
    assert ledger.first_use("a", 100, now=1) is False
    assert ledger.first_use("b", 100, now=1) is True
    assert ledger.first_use("a", 100, now=101) is True  # expired entries are dropped (the token is refused anyway)
