"""Faithful fakes of the telephony peers, shipped as test doubles (see docs/telephony.md)."""

from .calls_api import FakeCall, FakeCallsApi, RecordedRequest
from .twilio_peer import FakeTwilioPeer, dial_voice, parse_stream_twiml, wav_to_mulaw

__all__ = ("FakeCall", "FakeCallsApi", "FakeTwilioPeer", "RecordedRequest", "dial_voice", "parse_stream_twiml",
           "wav_to_mulaw")
