"""Phone calls: SIP through the OpenAI Realtime Calls API and Twilio Media Streams (docs/telephony.md).

Pure protocol pieces (webhook and Twilio signatures, the ``realtime.call.incoming`` parser,
routing, TwiML, the Media Streams codec, the outbound pacer, call-control tools) plus the
:class:`CallsClient` REST shell. ``realtime_graph.telephony.fakes`` holds the test doubles.
"""

from .call_errors import CallsApiError, PayloadError, SignatureError, TelephonyError
from .callcontrol import CallControlTool, call_control_tools, hangup_tool, transfer_tool
from .calls_client import AcceptResult, CallsClient, accept_body, calls_base_url
from .incoming import IncomingCall, parse_call_incoming, parse_webhook_event
from .media_codec import parse_message
from .pacer import FRAME_BYTES, OutboundPacer, Played
from .routing import CallRouting, RouteDecision, route_call, routing_from_mapping
from .twilio_bridge import MediaChannel, TwilioBridge, TwilioDtmf, TwilioStreamStarted, mulaw_graph
from .twilio_signature import twilio_signature, verify_twilio_signature
from .twiml import connect_stream_twiml, voice_parameters
from .webhooks import RedeliveryGuard, sign_webhook, verify_webhook, webhook_headers

__all__ = (
    "FRAME_BYTES",
    "AcceptResult",
    "CallControlTool",
    "CallRouting",
    "CallsApiError",
    "CallsClient",
    "IncomingCall",
    "MediaChannel",
    "OutboundPacer",
    "PayloadError",
    "Played",
    "RedeliveryGuard",
    "RouteDecision",
    "SignatureError",
    "TelephonyError",
    "TwilioBridge",
    "TwilioDtmf",
    "TwilioStreamStarted",
    "accept_body",
    "call_control_tools",
    "calls_base_url",
    "connect_stream_twiml",
    "hangup_tool",
    "mulaw_graph",
    "parse_call_incoming",
    "parse_message",
    "parse_webhook_event",
    "route_call",
    "routing_from_mapping",
    "sign_webhook",
    "transfer_tool",
    "twilio_signature",
    "verify_twilio_signature",
    "verify_webhook",
    "voice_parameters",
    "webhook_headers",
)
