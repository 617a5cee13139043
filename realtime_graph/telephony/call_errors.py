"""The telephony error types, all :class:`~realtime_graph.errors.RealtimeGraphError` s.

``SignatureError`` and ``PayloadError`` are what a webhook endpoint turns into an HTTP 400
(OpenAI) or 403 (Twilio); ``CallsApiError`` is a failed Calls API request other than the
"caller already gone" 404 on accept, which is a result, not an error.
"""

from __future__ import annotations

from ..errors import RealtimeGraphError

__all__ = ("CallsApiError", "PayloadError", "SignatureError", "TelephonyError")


class TelephonyError(RealtimeGraphError):
    """Base class of the telephony errors."""


class SignatureError(TelephonyError):
    """A webhook's signature, timestamp or signature headers are missing or wrong."""


class PayloadError(TelephonyError):
    """A webhook or Media Streams message is malformed (not JSON, a field missing or mistyped)."""


class CallsApiError(TelephonyError):
    """A Calls API request failed: network error, or an HTTP status other than 2xx.

    ``status`` is the HTTP status (None for a network failure); ``code`` the API's error code
    (for example ``call_id_not_found``) when the body carried one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
