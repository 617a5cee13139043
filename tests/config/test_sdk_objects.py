"""OpenAI Agents SDK objects as entrypoints (needs the `sdk` extra): FunctionTool (`@function_tool` and
hand-built), OutputGuardrail (`@output_guardrail` and hand-built), hooks objects (RealtimeRunHooks and
RealtimeAgentHooks subclasses). Each validates with the exact convention line, and its adapter calls
the object through its own path with a real SDK context carrying the session's context."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("agents")

from realtime_graph.cli.validate import validate as validate_command
from realtime_graph.config import load, render_issues, validate
from realtime_graph.graph.model import CallContext
from realtime_graph.runtime import Runner
from realtime_graph.runtime.tools import call_entrypoint
from realtime_graph.transports.scripted import ScriptedTransport
from realtime_graph.transports.simulator import Simulator, SimulatorTransport
from tests.support.builders import created, done, events_until, function_call
from tests.support.folders import module_folder

pytestmark = pytest.mark.anyio

CODE = '''
from typing import Annotated

from agents import (FunctionTool, GuardrailFunctionOutput, OutputGuardrail, RunContextWrapper, function_tool,
                    output_guardrail)
from agents.realtime import RealtimeAgentHooks, RealtimeRunHooks

SEEN = []

@function_tool
def get_weather(ctx: RunContextWrapper[dict], city: Annotated[str, "The city"]) -> str:
    """Get the weather for a city."""
    SEEN.append(("weather", type(ctx).__name__, ctx.context["user"], ctx.tool_call_id, city))
    return f"sunny in {city}"

async def _pay_policy(ctx, params, call_id):
    SEEN.append(("policy", ctx.context["user"], params, call_id))
    return params["amount"] > 100

@function_tool(needs_approval=_pay_policy)
async def pay(amount: int) -> str:
    """Pay an amount."""
    return f"paid {amount}"

async def _invoke(ctx, arguments):
    SEEN.append(("raw", ctx.context["user"], ctx.tool_name, json.loads(arguments)))
    return {"ok": True}

@function_tool(is_enabled=False)
def retired() -> str:
    """Never offered."""
    return "old"

def _vip(ctx, agent):  # sync, as the SDK allows
    SEEN.append(("is_enabled", type(ctx).__name__, agent.name))
    return bool(ctx.context.get("vip"))

def _always(ctx, params, call_id):  # sync too
    return True

@function_tool(is_enabled=_vip, needs_approval=_always)
def upgrade() -> str:
    """Upgrade the plan."""
    return "upgraded"

import json
raw_tool = FunctionTool(name="lookup", description="Look something up.",
                        params_json_schema={"type": "object", "properties": {"q": {"type": "string"}},
                                            "required": ["q"], "additionalProperties": False},
                        on_invoke_tool=_invoke, needs_approval=True)

@output_guardrail
async def no_secrets(ctx, agent, output):
    SEEN.append(("no_secrets", ctx.context["user"], agent.name, output))
    return GuardrailFunctionOutput(output_info={"why": "secret"}, tripwire_triggered="secret" in output)

def _short(ctx, agent, output):
    return GuardrailFunctionOutput(output_info=len(output), tripwire_triggered=len(output) > 500)

short_answers = OutputGuardrail(guardrail_function=_short, name="short_answers")

class RunLog(RealtimeRunHooks):
    async def on_agent_start(self, context, agent):
        SEEN.append(("run:start", type(context).__name__, context.context["user"], agent.name))

    async def on_tool_end(self, context, agent, tool, result):
        SEEN.append(("run:tool_end", type(context).__name__, context.tool_call_id, tool.name, result))

    async def on_handoff(self, context, from_agent, to_agent):
        SEEN.append(("run:handoff", from_agent.name, to_agent.name))

class AgentLog(RealtimeAgentHooks):
    async def on_start(self, context, agent):
        SEEN.append(("agent:start", agent.name))

    async def on_handoff(self, context, agent, source):
        SEEN.append(("agent:handoff", agent.name, source.name))

run_hooks = RunLog()
agent_hooks = AgentLog()
not_a_tool = RunLog()
'''

GRAPH = """\
kind: graph
start: main
hooks: sdk_mod:run_hooks
output_guardrails:
  - entrypoint: sdk_mod:no_secrets
  - entrypoint: sdk_mod:short_answers
"""

MAIN = """\
kind: agent
name: main
instructions: You help.
tools:
  - entrypoint: sdk_mod:get_weather
  - entrypoint: sdk_mod:pay
  - {entrypoint: sdk_mod:raw_tool, name: lookup_v2}
hooks: sdk_mod:agent_hooks
handoffs: [other]
---
kind: agent
name: other
instructions: You help too.
handoffs: [main]
"""


folder = module_folder("sdk_mod", CODE, GRAPH, MAIN)


def call_context(**kw) -> CallContext:
    return CallContext(agent="main", graph_version="v", context={"user": "ada"}, **kw)


def test_sdk_objects_validate_with_their_conventions(folder, monkeypatch) -> None:
    monkeypatch.chdir(folder())
    result = CliRunner().invoke(validate_command, [".", "--verbose"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:-1] == [
        "graph.yaml:3:8: graph hooks.on_agent_start: sdk_mod:run_hooks.on_agent_start as on_agent_start(context, agent) (SDK)",
        "graph.yaml:3:8: graph hooks.on_tool_end: sdk_mod:run_hooks.on_tool_end as on_tool_end(context, agent, tool, result) (SDK)",
        "graph.yaml:3:8: graph hooks.on_handoff: sdk_mod:run_hooks.on_handoff as on_handoff(context, from_agent, to_agent) (SDK)",
        "graph.yaml:5:17: graph guardrail no_secrets: sdk_mod:no_secrets as OutputGuardrail (SDK): run(context, agent, output)",
        "graph.yaml:6:17: graph guardrail short_answers: sdk_mod:short_answers as OutputGuardrail (SDK): run(context, agent, output)",
        "main.yaml:5:17: main tool get_weather: sdk_mod:get_weather as FunctionTool (SDK): on_invoke_tool(ToolContext, arguments)",
        "main.yaml:6:17: main tool pay: sdk_mod:pay as FunctionTool (SDK): on_invoke_tool(ToolContext, arguments)",
        "main.yaml:6:17: main tool pay needs_approval: sdk_mod:pay.needs_approval as FunctionTool.needs_approval (SDK): fn(context, params, call_id)",
        "main.yaml:7:18: main tool lookup_v2: sdk_mod:raw_tool as FunctionTool (SDK): on_invoke_tool(ToolContext, arguments)",
        "main.yaml:8:8: main hooks.on_agent_start: sdk_mod:agent_hooks.on_start as on_start(context, agent) (SDK)",
        "main.yaml:8:8: main hooks.on_handoff: sdk_mod:agent_hooks.on_handoff as on_handoff(context, agent, source) (SDK)",
    ]


def test_function_tool_name_description_and_schema_come_from_the_object(folder) -> None:
    graph = load(folder())
    mod = sys.modules["sdk_mod"]
    weather, pay, lookup = graph.agent("main").tools
    assert weather.to_wire() == {"type": "function", "name": "get_weather", "description": "Get the weather for a city.",
                                 "parameters": mod.get_weather.params_json_schema}
    assert weather.to_wire()["parameters"]["properties"]["city"]["description"] == "The city"
    assert (pay.name, pay.needs_approval.ref) == ("pay", "sdk_mod:pay.needs_approval")
    assert (lookup.name, lookup.description, lookup.needs_approval) == ("lookup_v2", "Look something up.", True)
    assert lookup.to_wire()["parameters"] == mod.raw_tool.params_json_schema


async def test_function_tool_runs_through_on_invoke_tool_with_a_tool_context(folder) -> None:
    graph = load(folder())
    mod = sys.modules["sdk_mod"]
    weather, pay, lookup = graph.agent("main").tools
    assert await weather.entrypoint.resolve()(city="Oslo", context=call_context(call_id="c1")) == "sunny in Oslo"
    assert await lookup.entrypoint.resolve()(q="tea", context=call_context(call_id="c2", tool_name="lookup_v2")) == \
        {"ok": True}
    assert await pay.needs_approval.resolve()({"amount": 150}, call_context(call_id="c3")) is True
    assert mod.SEEN == [("weather", "ToolContext", "ada", "c1", "Oslo"),
                        ("raw", "ada", "lookup", {"q": "tea"}),
                        ("policy", "ada", {"amount": 150}, "c3")]


async def test_function_tool_is_enabled_false_is_never_sent_and_a_callable_is_asked_per_update(folder) -> None:
    main = MAIN.replace("  - entrypoint: sdk_mod:pay\n",
                        "  - entrypoint: sdk_mod:pay\n  - entrypoint: sdk_mod:retired\n  - entrypoint: sdk_mod:upgrade\n")
    graph = load(folder(main=main))
    mod = sys.modules["sdk_mod"]
    upgrade = graph.agent("main").tool("upgrade")
    assert upgrade is not None and upgrade.enabled_when is not None
    assert upgrade.enabled_when.convention == "FunctionTool.is_enabled (SDK): fn(context, agent)"
    assert not graph.agent("main").tool("retired").enabled
    runner = Runner(graph, transport=SimulatorTransport(Simulator()))

    def names(session: dict) -> list[str]:
        return [t["name"] for t in session["tools"]]

    assert names(await runner.initial_session(context={"user": "ada"})) == [
        "get_weather", "pay", "lookup_v2", "transfer_to_other"]
    assert names(await runner.initial_session(context={"user": "ada", "vip": True})) == [
        "get_weather", "pay", "upgrade", "lookup_v2", "transfer_to_other"]
    assert mod.SEEN == [("is_enabled", "RunContextWrapper", "main")] * 2
    # a sync needs_approval callable of a FunctionTool is run like any sync entrypoint
    assert await call_entrypoint(upgrade.needs_approval, {}, call_context(call_id="c9")) is True


async def test_a_call_to_a_tool_is_enabled_left_out_is_an_unknown_tool(folder) -> None:
    main = MAIN.replace("  - entrypoint: sdk_mod:pay\n", "  - entrypoint: sdk_mod:pay\n  - entrypoint: sdk_mod:upgrade\n")
    graph = load(folder(main=main))
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run(context={"user": "ada"}) as session:
        transport.push(created("r1"), function_call("r1", "c1", "upgrade"), done("r1"))
        got = await events_until(session, lambda e: e.type == "error")
    assert got[-1].error == {"message": "Tool upgrade not found", "kind": "unknown_tool", "tool": "upgrade",
                             "call_id": "c1", "agent": "main"}
    assert "tool_start" not in [e.type for e in got]


async def test_output_guardrails_return_their_guardrail_function_output(folder) -> None:
    graph = load(folder())
    mod = sys.modules["sdk_mod"]
    no_secrets, short = graph.output_guardrails
    verdict = await no_secrets.entrypoint.resolve()("the secret is out", call_context())
    assert (verdict.tripwire_triggered, verdict.output_info) == (True, {"why": "secret"})
    verdict = await short.entrypoint.resolve()("fine", call_context())
    assert (verdict.tripwire_triggered, verdict.output_info) == (False, 4)
    assert mod.SEEN == [("no_secrets", "ada", "main", "the secret is out")]


def test_a_hooks_object_is_not_a_tool(folder, monkeypatch) -> None:
    path = folder(main=MAIN.replace("sdk_mod:raw_tool, name: lookup_v2", "sdk_mod:not_a_tool"))
    monkeypatch.chdir(path.parent)
    assert render_issues(validate(path.name).issues) == (
        f"{path.name}/main.yaml:7:18: error RG304: 'sdk_mod:not_a_tool' is not callable: it is of type RunLog\n"
        "  hint: a tool entrypoint names a function, or a FunctionTool (@function_tool) when openai-agents is installed\n"
        "1 error, 0 warnings")


def test_sdk_function_tool_schema_roundtrips_as_json(folder) -> None:
    tool = load(folder()).agent("main").tools[0]
    assert json.loads(json.dumps(tool.to_wire()))["parameters"]["required"] == ["city"]


HANDOFF_CODE = '''
from pydantic import BaseModel, Field

SEEN = []

class Address(BaseModel):
    city: str
    zip: str | None = None

class Escalation(BaseModel):
    reason: str = Field(description="Why the caller wants a manager")
    priority: int = 1
    address: Address | None = None

async def escalate(ctx, data):
    SEEN.append((ctx.context["user"], data))
'''

HANDOFF_MAIN = """\
kind: agent
name: main
instructions: You help.
handoffs:
  - {agent: other, tool_name: escalate_to_other, description: Escalate., input_type: 'handoff_mod:Escalation', on_handoff: 'handoff_mod:escalate'}
---
kind: agent
name: other
instructions: You help too.
handoffs: [main]
"""


async def test_handoff_input_type_schema_is_the_sdks_and_on_handoff_gets_the_model(tmp_path: Path) -> None:
    from agents.realtime import RealtimeAgent, realtime_handoff

    (tmp_path / "handoff_mod.py").write_text(HANDOFF_CODE, encoding="utf-8")
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: main\n", encoding="utf-8")
    (tmp_path / "main.yaml").write_text(HANDOFF_MAIN, encoding="utf-8")
    try:
        handoff = load(tmp_path).agent("main").handoffs[0]
        mod = sys.modules["handoff_mod"]
        sdk = realtime_handoff(RealtimeAgent(name="other"), tool_name_override="escalate_to_other",
                               tool_description_override="Escalate.", input_type=mod.Escalation,
                               on_handoff=mod.escalate)
        assert handoff.to_wire() == {"type": "function", "name": sdk.tool_name, "description": sdk.tool_description,
                                     "parameters": sdk.input_json_schema}
        await handoff.on_handoff.resolve()(call_context(), {"reason": "angry", "address": {"city": "Oslo"}})
        seen = mod.SEEN
        assert seen == [("ada", mod.Escalation(reason="angry", address=mod.Address(city="Oslo")))]
    finally:
        sys.modules.pop("handoff_mod", None)
