"""Four SDK-style realtime apps, modelled on the OpenAI Agents SDK's own examples (browser app,
CLI demo, Twilio Media Streams, Twilio SIP), and one with the SDK features beyond them (dynamic
instructions, typed handoff input, callable enablement, prompt, more session settings), as
module sources the tests write to disk and import.

Each is what a user would have: module-level ``@function_tool`` objects, agents, and the settings
they pass as ``RealtimeRunConfig`` or ``model_config["initial_model_settings"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("EXAMPLES", "Example")


@dataclass(frozen=True)
class Example:
    module: str
    source: str
    agent: str
    settings: str
    settings_kind: str  # "run_config" | "model_config" | "model_settings"


APP = '''
from agents import GuardrailFunctionOutput, OutputGuardrail, function_tool
from agents.extensions.handoff_prompt import RECOMMENDED_PROMPT_PREFIX
from agents.realtime import RealtimeAgent


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"The weather in {city} is sunny."


@function_tool
def get_secret_number() -> int:
    """Returns the secret number, if the user asks for it."""
    return 71


def no_secret_number(ctx, agent, output):
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="71" in output)


secret_guardrail = OutputGuardrail(guardrail_function=no_secret_number, name="no_secret_number")

haiku_agent = RealtimeAgent(
    name="Haiku Agent",
    instructions=f"{RECOMMENDED_PROMPT_PREFIX}.You are a haiku poet. You must respond ONLY in traditional haiku "
                 "format (5-7-5 syllables). Every response should be a proper haiku about the topic.",
    tools=[],
)

assistant_agent = RealtimeAgent(
    name="Assistant",
    instructions=f"{RECOMMENDED_PROMPT_PREFIX}.If the user wants poetry or haikus, hand off to the haiku agent.",
    tools=[get_weather, get_secret_number],
    handoffs=[haiku_agent],
    output_guardrails=[secret_guardrail],
)

RUN_CONFIG = {
    "model_settings": {
        "model_name": "gpt-realtime-2.1",
        "voice": "ash",
        "modalities": ["audio"],
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
        "turn_detection": {"type": "server_vad", "prefix_padding_ms": 300, "silence_duration_ms": 500,
                           "interrupt_response": True, "create_response": True},
    },
    "guardrails_settings": {"debounce_text_length": 80},
}
'''

CLI = '''
from agents import function_tool
from agents.realtime import RealtimeAgent


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"The weather in {city} is sunny."


agent = RealtimeAgent(
    name="Assistant",
    instructions="You always greet the user with 'Top of the morning to you'.",
    tools=[get_weather],
)

MODEL_CONFIG = {
    "initial_model_settings": {"turn_detection": {"type": "semantic_vad", "interrupt_response": False}},
}
'''

TWILIO = '''
from datetime import datetime

from agents import function_tool
from agents.realtime import RealtimeAgent


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"The weather in {city} is sunny."


@function_tool
def get_current_time() -> str:
    """Get the current time."""
    return f"The current time is {datetime.now().strftime('%H:%M:%S')}"


agent = RealtimeAgent(
    name="Twilio Assistant",
    instructions="You are a helpful assistant that starts every conversation with a creative greeting. "
                 "Keep responses concise and friendly since this is a phone conversation.",
    tools=[get_weather, get_current_time],
)

INITIAL_MODEL_SETTINGS = {
    "model_name": "gpt-realtime-2.1",
    "input_audio_format": "g711_ulaw",
    "output_audio_format": "g711_ulaw",
    "turn_detection": {"type": "semantic_vad", "interrupt_response": True, "create_response": True},
}
'''

SIP = '''
from agents.extensions.handoff_prompt import RECOMMENDED_PROMPT_PREFIX
from agents.realtime import RealtimeAgent, realtime_handoff

TRANSFERS = []


def log_transfer(ctx) -> None:
    TRANSFERS.append("records")


faq_agent = RealtimeAgent(
    name="FAQ Agent",
    handoff_description="Answers common questions about opening hours and prices.",
    instructions=f"{RECOMMENDED_PROMPT_PREFIX}\\nYou answer questions about opening hours and prices. "
                 "If the caller needs anything else, transfer back to the triage agent.",
)

records_agent = RealtimeAgent(
    name="Records Agent",
    handoff_description="Looks up the caller's records.",
    instructions="Read record ids such as {{RECORD-1}} or {% batch %} exactly as written.\\n{# not a comment #}",
)

triage_agent = RealtimeAgent(
    name="Triage Agent",
    instructions=f"{RECOMMENDED_PROMPT_PREFIX}\\nGreet the caller, find out what they need and transfer them.",
    handoffs=[
        realtime_handoff(faq_agent, tool_name_override="transfer_to_faq_agent"),
        realtime_handoff(records_agent, on_handoff=log_transfer),
    ],
)
faq_agent.handoffs = [triage_agent]
records_agent.handoffs = [triage_agent]

SESSION_SETTINGS = {
    "voice": "marin",
    "turn_detection": {"type": "semantic_vad", "interrupt_response": True},
}
'''

# Beyond the SDK's examples: the SDK features issue 8 makes declarable, in one app.
FEATURES = '''
from typing import Annotated

from pydantic import BaseModel

from agents import GuardrailFunctionOutput, function_tool, output_guardrail
from agents.realtime import RealtimeAgent, realtime_handoff


class Escalation(BaseModel):
    reason: str
    priority: int = 1


def on_escalate(ctx, data: Escalation) -> None:
    pass


def billing_open(ctx, agent) -> bool:
    return True


def instructions(ctx, agent) -> str:
    return f"You are the {agent.name} desk. Be brief."


@function_tool(needs_approval=True)
def refund(order_id: Annotated[str, "The order to refund"], amount: float) -> str:
    """Refund part of an order."""
    return "refunded"


@output_guardrail
def no_card_numbers(ctx, agent, output) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="4111" in output)


billing = RealtimeAgent(name="Billing", handoff_description="Refunds and invoices.",
                        instructions=instructions, tools=[refund])
front_desk = RealtimeAgent(
    name="Front Desk",
    instructions=instructions,
    handoffs=[realtime_handoff(billing, input_type=Escalation, on_handoff=on_escalate, is_enabled=billing_open)],
    prompt={"id": "pmpt_123", "version": "4", "variables": {"tone": "warm"}},
)
billing.handoffs = [front_desk]

RUN_CONFIG = {
    "model_settings": {
        "voice": "cedar",
        "speed": 1.1,
        "max_output_tokens": 1024,
        "tool_choice": "auto",
        "output_audio_format": "g711_alaw",
        "input_audio_noise_reduction": {"type": "far_field"},
        "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    },
    "output_guardrails": [no_card_numbers],
}
'''

EXAMPLES: dict[str, Example] = {
    "browser_app": Example("rtg_sdk_app", APP, "assistant_agent", "RUN_CONFIG", "run_config"),
    "cli_demo": Example("rtg_sdk_cli", CLI, "agent", "MODEL_CONFIG", "model_config"),
    "twilio": Example("rtg_sdk_twilio", TWILIO, "agent", "INITIAL_MODEL_SETTINGS", "model_settings"),
    "twilio_sip": Example("rtg_sdk_sip", SIP, "triage_agent", "SESSION_SETTINGS", "model_settings"),
    "sdk_features": Example("rtg_sdk_features", FEATURES, "front_desk", "RUN_CONFIG", "run_config"),
}
