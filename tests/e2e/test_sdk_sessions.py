"""SDK-shaped code in live sessions against the simulator: the runtime calls every shape correctly,
and ``ctx.context`` is the session's context wherever the SDK would hand a context.

Without the SDK: a ``ctx`` tool parameter, ``Annotated`` descriptions, dataclass parameters,
``needs_approval(ctx, params, call_id)``, guardrail ``(ctx, agent, output)``, a hooks object and a
handoff ``input_type``. With the SDK (`sdk` extra): ``@function_tool`` / ``FunctionTool`` through
``on_invoke_tool``, ``@output_guardrail`` tripping, ``RealtimeRunHooks`` / ``RealtimeAgentHooks``.
"""

from __future__ import annotations

import json

import anyio
import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import simulator, until_ends, until_seen

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SHAPES_CODE = """
from dataclasses import dataclass
from typing import Annotated

LOG = []

@dataclass
class Order:
    item: str
    qty: int = 1

@dataclass
class Escalation:
    reason: str
    priority: int = 1

def weather(ctx, city: Annotated[str, "The city"]) -> str:
    return f"{ctx.context['user']}: sunny in {city}"

def place(order: Order) -> str:
    LOG.append(("place", order))
    return f"{order.qty} x {order.item}"

def approve(ctx, params, call_id):
    LOG.append(("approve", ctx.context["user"], params, call_id))
    return params["order"]["qty"] > 10

def guard(ctx, agent, output):
    LOG.append(("guard", ctx.context["user"], agent.name, output))
    return "secret" in output

class Hooks:
    def on_tool_end(self, context, agent, tool, result):
        LOG.append(("tool_end", context.context["user"], agent.name, tool.name, result))
    async def on_handoff(self, context, from_agent, to_agent):
        LOG.append(("handoff", context.context["user"], from_agent.name, to_agent.name))

hooks = Hooks()

def escalate(ctx, data):
    LOG.append(("escalate", ctx.context["user"], data))
"""

SHAPES_GRAPH = """
kind: graph
start: main
hooks: "{mod}:hooks"
---
kind: agent
name: main
instructions: You help.
tools:
  - entrypoint: "{mod}:weather"
  - {entrypoint: "{mod}:place", needs_approval: "{mod}:approve"}
output_guardrails: [{entrypoint: "{mod}:guard"}]
handoffs:
  - {agent: other, input_type: "{mod}:Escalation", on_handoff: "{mod}:escalate"}
---
kind: agent
name: other
instructions: You help too.
handoffs: [main]
"""

SHAPES_SCRIPT = """
- match: weather
  actions: [{call: {tool: weather, arguments: {city: Oslo}}}]
- match: small
  actions: [{call: {tool: place, arguments: {order: {item: tea, qty: 2}}}}]
- match: large
  actions: [{call: {tool: place, arguments: {order: {item: tea, qty: 50}}}}]
- match: secret
  actions: [{say: "The secret code is 1234."}]
- match: manager
  actions: [{call: {tool: transfer_to_other, arguments: {reason: angry}}}]
"""


def _tools(update: dict) -> dict[str, dict]:
    return {t["name"]: t for t in update["session"]["tools"]}


async def test_sdk_shaped_functions_are_called_with_the_session_context(load_graph) -> None:
    graph, mod = load_graph(SHAPES_GRAPH, SHAPES_CODE)
    transport, sim = simulator(SHAPES_SCRIPT)
    async with Runner(graph, transport=transport).run(context={"user": "ada"}) as session:
        await session.send_message("weather please")
        weather = await until_ends(session, 2)
        await session.send_message("a small order")
        await until_ends(session, 2)
        await session.send_message("a large order")
        parked = await until_seen(session, "tool_approval_required")
        await session.approve_tool_call(parked[-1].call_id)
        await until_seen(session, "tool_end")
        await session.send_message("tell me the secret")
        tripped = await until_seen(session, "guardrail_tripped")
        await session.wait_idle()
        await session.send_message("get me a manager")
        await until_seen(session, "handoff")
        await session.wait_idle()
        with anyio.fail_after(3):  # the sync hook runs in a worker thread
            while not any(entry[0] == "handoff" for entry in mod.LOG):
                await anyio.sleep(0.01)

    first_update = sim.received_of("session.update")[0]
    tools = _tools(first_update)
    assert tools["weather"]["parameters"] == {
        "type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
        "required": ["city"], "additionalProperties": False}
    assert tools["transfer_to_other"]["parameters"] == {
        "type": "object", "properties": {"reason": {"type": "string"}, "priority": {"type": "integer"}},
        "required": ["reason"], "additionalProperties": False}
    outputs = [e["item"]["output"] for e in sim.received_of("conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert outputs == ["ada: sunny in Oslo", "2 x tea", "50 x tea", json.dumps({"assistant": "other"})]
    assert [e.output for e in weather if e.type == "tool_end"] == ["ada: sunny in Oslo"]
    assert tripped[-1].guardrail_results[0].guardrail == f"{mod.__name__}:guard"
    assert session.current_agent.name == "other"

    log = [entry for entry in mod.LOG if entry[0] != "guard"]
    call_ids = [e["item"]["call_id"] for e in sim.received_of("conversation.item.create")
                if e["item"]["type"] == "function_call_output"]
    assert log == [
        ("tool_end", "ada", "main", "weather", "ada: sunny in Oslo"),
        ("approve", "ada", {"order": {"item": "tea", "qty": 2}}, call_ids[1]),
        ("place", mod.Order("tea", 2)),
        ("tool_end", "ada", "main", "place", "2 x tea"),
        ("approve", "ada", {"order": {"item": "tea", "qty": 50}}, call_ids[2]),
        ("place", mod.Order("tea", 50)),
        ("tool_end", "ada", "main", "place", "50 x tea"),
        ("escalate", "ada", mod.Escalation("angry", 1)),
        ("handoff", "ada", "main", "other"),
    ]
    guard_calls = [entry for entry in mod.LOG if entry[0] == "guard"]
    assert ("guard", "ada", "main", "The secret code is 1234.") in guard_calls


SDK_CODE = """
from agents import FunctionTool, GuardrailFunctionOutput, RunContextWrapper, function_tool, output_guardrail
from agents.realtime import RealtimeAgentHooks, RealtimeRunHooks
from agents.tool_context import ToolContext

LOG = []

@function_tool
def get_weather(ctx: RunContextWrapper[dict], city: str) -> str:
    '''Get the weather.

    Args:
        city: The city.
    '''
    LOG.append(("get_weather", isinstance(ctx, ToolContext), ctx.context["user"], ctx.tool_name))
    return f"sunny in {city}"

def _needs(ctx, params, call_id):
    LOG.append(("needs_approval", ctx.context["user"], params))
    return True

@function_tool(needs_approval=_needs)
async def refund(amount: int) -> str:
    '''Refund money.'''
    return f"refunded {amount}"

@output_guardrail
def no_secrets(ctx, agent, output):
    LOG.append(("no_secrets", ctx.context["user"], output))
    return GuardrailFunctionOutput(output_info={"found": "secret"}, tripwire_triggered="secret" in output)

class RunLog(RealtimeRunHooks):
    async def on_tool_start(self, context, agent, tool):
        LOG.append(("on_tool_start", type(context).__name__, context.context["user"], tool.name))

class AgentLog(RealtimeAgentHooks):
    async def on_start(self, context, agent):
        LOG.append(("on_start", context.context["user"], agent.name))

run_hooks = RunLog()
agent_hooks = AgentLog()
"""

SDK_GRAPH = """
kind: graph
start: assistant
hooks: "{mod}:run_hooks"
---
kind: agent
name: assistant
instructions: You help.
hooks: "{mod}:agent_hooks"
tools:
  - entrypoint: "{mod}:get_weather"
  - entrypoint: "{mod}:refund"
output_guardrails:
  - entrypoint: "{mod}:no_secrets"
"""

SDK_SCRIPT = """
- match: weather
  actions: [{call: {tool: get_weather, arguments: {city: Oslo}}}]
- match: refund
  actions: [{call: {tool: refund, arguments: {amount: 5}}}]
- match: secret
  actions: [{say: "The secret code is 1234."}]
"""


async def test_sdk_objects_run_through_their_own_paths(load_graph) -> None:
    pytest.importorskip("agents")
    graph, mod = load_graph(SDK_GRAPH, SDK_CODE)
    transport, sim = simulator(SDK_SCRIPT)
    async with Runner(graph, transport=transport).run(context={"user": "ada"}) as session:
        await session.send_message("weather please")
        await until_ends(session, 2)
        await session.send_message("refund please")
        parked = await until_seen(session, "tool_approval_required")
        await session.reject_tool_call(parked[-1].call_id, message="no refunds today")
        await session.wait_idle()
        await session.send_message("the secret")
        tripped = await until_seen(session, "guardrail_tripped")
        await session.wait_idle()

    tools = _tools(sim.received_of("session.update")[0])
    assert tools["get_weather"] == {"type": "function", "name": "get_weather", "description": "Get the weather.",
                                    "parameters": mod.get_weather.params_json_schema}
    outputs = [e["item"]["output"] for e in sim.received_of("conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert outputs == ["sunny in Oslo", "no refunds today"]
    result = tripped[-1].guardrail_results[0]
    assert (result.guardrail, result.tripwire_triggered, result.info) == ("no_secrets", True, {"found": "secret"})
    log = [entry for entry in mod.LOG if entry[0] not in ("no_secrets", "on_start")]
    assert log == [("on_tool_start", "ToolContext", "ada", "get_weather"),
                   ("get_weather", True, "ada", "get_weather"),
                   ("needs_approval", "ada", {"amount": 5})]
    assert ("no_secrets", "ada", "The secret code is 1234.") in mod.LOG
    assert ("on_start", "ada", "assistant") in mod.LOG
