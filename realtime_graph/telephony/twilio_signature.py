"""``X-Twilio-Signature`` on Twilio's webhooks (``POST /twilio/voice``), pure.

``base64(HMAC-SHA1(auth_token, url + "".join(name + value for name, value in sorted(params))))``
where ``url`` is the full URL Twilio requested (scheme, host, path and query, as configured in
the Twilio console) and ``params`` are the POST form fields (repeated names: every value, in
order, after sorting by name). https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from .call_errors import SignatureError

__all__ = ("twilio_signature", "verify_twilio_signature")

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    return sorted(items, key=lambda pair: pair[0])


def twilio_signature(url: str, params: Params, auth_token: str) -> str:
    """The signature Twilio sends for a request to ``url`` with form ``params``."""
    data = url + "".join(name + value for name, value in _pairs(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def verify_twilio_signature(url: str, params: Params, signature: str | None, auth_token: str) -> None:
    """Check ``X-Twilio-Signature``.

    :raises SignatureError: no token configured, the header is missing, or it does not match
        (wrong token, or ``url`` differs from what Twilio called, e.g. behind a proxy).
    """
    if not auth_token:
        raise SignatureError("no Twilio auth token configured: set TWILIO_AUTH_TOKEN")
    if not signature:
        raise SignatureError("missing X-Twilio-Signature header; the request did not come from Twilio")
    if not hmac.compare_digest(twilio_signature(url, params, auth_token), signature):
        raise SignatureError("X-Twilio-Signature does not match: wrong auth token, or the URL differs from "
                             "the one configured in Twilio (check the public scheme and host behind a proxy)")
