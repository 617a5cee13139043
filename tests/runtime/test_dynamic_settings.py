"""Dynamic instructions and handoff ``enabled`` entrypoints, and every GA session field on the wire.

Graphs are loaded by the real loader from a definition folder written to ``tmp_path`` (YAML plus
a user module); sessions run against ``ScriptedTransport`` (exact client events) or the simulator
on a loopback WebSocket (the server accepts what we send).
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_graph.config import load
from realtime_graph.errors import SessionError
from realtime_graph.graph.model import Graph
from realtime_graph.runtime import Runner
from realtime_graph.transports.recording import RecordingTransport
from realtime_graph.transports.scripted import ScriptedTransport
from tests.support.builders import created, done, events_until, function_call
from tests.support.simulated import simulator
from tests.support.wire import strict

pytestmark = pytest.mark.anyio

_NAMES = itertools.count()

CODE = """
import anyio

CALLS = []

def triage_instructions(context, agent):
    CALLS.append(("triage", agent.name, context.agent, dict(context.context)))
    return f"Triage for {context.context['caller']} as {agent.name}."

async def billing_instructions(context, agent):
    await anyio.sleep(0)
    CALLS.append(("billing", agent.name, context.agent, dict(context.context)))
    return f"Billing for {context.context['caller']}."

async def vip_only(context, agent):  # the SDK's is_enabled may be sync or async
    CALLS.append(("enabled", agent.name))
    return bool(context.context.get("vip"))

def not_text(context, agent):
    return 42

async def slow(context, agent):
    await anyio.sleep(30)
    return "never"

def broken(context, agent):
    raise ValueError("no prompt today")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Callable[..., tuple[Graph, Any]]]:
    """``folder(yaml, graph_yaml=...) -> (graph, module)``: a definition folder with the user
    module (its name replaces ``{mod}``), loaded with :func:`realtime_graph.config.load`."""
    names: list[str] = []

    def build(agents: str, graph_yaml: str = "kind: graph\nstart: triage\n") -> tuple[Graph, Any]:
        name = f"rtg_dynamic_{next(_NAMES)}"
        names.append(name)
        root = tmp_path / name
        root.mkdir()
        (root / f"{name}.py").write_text(textwrap.dedent(CODE))
        (root / "graph.yaml").write_text(textwrap.dedent(graph_yaml))
        (root / "agents.yaml").write_text(textwrap.dedent(agents).replace("{mod}", name))
        graph = load(root, environ={"MCP_TOKEN": "tok-from-env"})
        return graph, sys.modules.get(name)

    yield build
    for name in names:
        sys.modules.pop(name, None)


AGENTS = """
kind: agent
name: triage
instructions: {entrypoint: "{mod}:triage_instructions"}
handoffs:
  - agent: billing
    enabled: "{mod}:vip_only"
  - support
---
kind: agent
name: billing
instructions: {entrypoint: "{mod}:billing_instructions"}
handoffs: [triage]
---
kind: agent
name: support
instructions: Support.
"""


def _tool_names(update: dict[str, Any]) -> list[str]:
    return [t.get("name") or t.get("server_label") for t in update["session"]["tools"]]


async def test_instructions_are_called_for_every_update_with_the_session_context(folder) -> None:
    graph, module = folder(AGENTS)
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run(context={"caller": "Ann", "vip": True}) as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        await events_until(session, lambda e: e.type == "handoff")
        await session.update_agent("triage")
    updates = [e for e in transport.sent if e["type"] == "session.update"]
    assert [u["session"]["instructions"] for u in updates] == [
        "Triage for Ann as triage.", "Billing for Ann.", "Triage for Ann as triage."]
    assert [_tool_names(u) for u in updates] == [
        ["transfer_to_billing", "transfer_to_support"], ["transfer_to_triage"],
        ["transfer_to_billing", "transfer_to_support"]]
    context = {"caller": "Ann", "vip": True}
    calls = module.CALLS
    assert calls == [("triage", "triage", "triage", context), ("enabled", "triage"),
                            ("billing", "billing", "billing", context),
                            ("triage", "triage", "triage", context), ("enabled", "triage")]
    for update in updates:
        strict(update)


async def test_a_hot_reload_calls_them_again_with_the_new_graph(folder) -> None:
    graph, module = folder(AGENTS)
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run(context={"caller": "Di"}) as session:
        session.update_graph(dataclasses.replace(graph, version="v2"))
        got = await events_until(session, lambda e: e.type == "graph_updated")
    assert got[-1].message.startswith(f"graph {graph.version} -> v2")
    updates = [e["session"] for e in transport.sent if e["type"] == "session.update"]
    assert [u["instructions"] for u in updates] == ["Triage for Di as triage."] * 2
    assert [c[0] for c in module.CALLS] == ["triage", "enabled", "triage", "enabled"]


async def test_a_disabled_handoff_is_left_out_and_not_callable(folder) -> None:
    graph, module = folder(AGENTS)
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run(context={"caller": "Bo"}) as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        await events_until(session, lambda e: e.type == "agent_end")
        await anyio.wait_all_tasks_blocked()
        assert session.current_agent.name == "triage"
    assert _tool_names(transport.sent[0]) == ["transfer_to_support"]
    outputs = [e["item"]["output"] for e in transport.sent if e["type"] == "conversation.item.create"]
    assert outputs == ["Tool transfer_to_billing not found"]  # like an unknown tool, as the SDK at dispatch
    calls = module.CALLS
    assert calls == [("triage", "triage", "triage", {"caller": "Bo"}), ("enabled", "triage")]


@pytest.mark.parametrize(("entry", "message"), [
    ("not_text", "instructions of agent 'triage' ({mod}:not_text at {file}:3:28) returned int, not str"),
    ("broken", "instructions of agent 'triage' ({mod}:broken at {file}:3:28) failed: ValueError: no prompt today"),
    ("slow", "instructions of agent 'triage' ({mod}:slow at {file}:3:28) took longer than 0.1s "
             "(run.timeouts.instructions)"),
])
async def test_a_failing_instructions_entrypoint_fails_the_start_naming_it(folder, entry, message) -> None:
    graph, module = folder(f'kind: agent\nname: triage\ninstructions: {{entrypoint: "{{mod}}:{entry}"}}\n',
                           "kind: graph\nstart: triage\nrun: {timeouts: {instructions: 100ms}}\n")
    transport = ScriptedTransport(strict=False)
    with pytest.raises(SessionError) as raised:
        async with Runner(graph, transport=transport).run():
            pass
    file = Path(graph.source) / "agents.yaml"
    assert str(raised.value) == message.format(mod=module.__name__, file=file)
    assert transport.sent == []  # nothing was sent: the connection was never opened


async def test_a_failing_instructions_entrypoint_fails_only_the_handoff(folder) -> None:
    graph, module = folder("""
        kind: agent
        name: triage
        instructions: Triage.
        handoffs: [billing]
        ---
        kind: agent
        name: billing
        instructions: {entrypoint: "{mod}:not_text"}
        """)
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        got = await events_until(session, lambda e: e.type == "error")
        await anyio.wait_all_tasks_blocked()
        assert session.current_agent.name == "triage"
    where = f"{module.__name__}:not_text at {Path(graph.source) / 'agents.yaml'}:9:28"
    assert got[-1].error == {"message": f"handoff to 'billing' failed: instructions of agent 'billing' ({where}) "
                                        "returned int, not str", "call_id": "c1"}
    assert [e["type"] for e in transport.sent].count("session.update") == 1


async def test_update_agent_raises_and_stays_when_the_instructions_fail(folder) -> None:
    graph, _ = folder("""
        kind: agent
        name: triage
        instructions: Triage.
        ---
        kind: agent
        name: billing
        instructions: {entrypoint: "{mod}:broken"}
        """)
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run() as session:
        with pytest.raises(SessionError, match=r"instructions of agent 'billing' \(.*:broken at .*agents.yaml:8:28\) "
                                               r"failed: ValueError: no prompt today$"):
            await session.update_agent("billing")
        assert session.current_agent.name == "triage"
    assert [e["type"] for e in transport.sent] == ["session.update"]


GA_SETTINGS = """
kind: graph
start: triage
model_settings:
  max_output_tokens: 800
  truncation: {type: retention_ratio, retention_ratio: 0.8, token_limits: {post_instructions: 8000}}
  include: [item.input_audio_transcription.logprobs]
  parallel_tool_calls: false
  reasoning: {effort: low}
  tool_choice: {type: mcp, server_label: crm, name: lookup}
  prompt: {id: pmpt_1, version: "3", variables: {city: Oslo}}
  tracing: {workflow_name: support, group_id: g1, metadata: {team: a}}
  audio:
    input:
      noise_reduction: {type: far_field, strength: 0.5}
      transcription: {model: gpt-transcribe, languages: [en, nb], keywords: [Acme]}
      turn_detection: {type: server_vad, threshold: 0.6, idle_timeout_ms: 5000}
    output: {voice: marin, speed: 1.2}
  tools:
    - type: mcp
      server_label: crm
      server_url: https://mcp.example.com/sse
      allowed_tools: {tool_names: [lookup], read_only: true}
      require_approval: {never: {tool_names: [lookup]}}
      headers: {Authorization: "Bearer ${MCP_TOKEN}", X-Region: eu}
"""
GA_AGENTS = """
kind: agent
name: triage
instructions: Triage.
handoffs: [billing]
model_settings: {max_output_tokens: inf, truncation: disabled}
---
kind: agent
name: billing
instructions: Billing.
model_settings:
  tools: [{type: mcp, server_label: docs, connector_id: connector_googledrive, authorization: "${MCP_TOKEN}"}]
"""
MCP_TOOL = {"type": "mcp", "server_label": "crm", "server_url": "https://mcp.example.com/sse",
            "allowed_tools": {"tool_names": ["lookup"], "read_only": True},
            "require_approval": {"never": {"tool_names": ["lookup"]}},
            "headers": {"Authorization": "Bearer tok-from-env", "X-Region": "eu"}}


async def test_every_ga_field_and_the_mcp_tool_with_its_resolved_header_are_sent(folder, monkeypatch) -> None:
    monkeypatch.setenv("MCP_TOKEN", "tok-from-env")
    graph, _ = folder(GA_AGENTS, GA_SETTINGS)
    assert "tok-from-env" not in repr(graph.model_settings)  # kept as a Secret until a session sends it
    transport = ScriptedTransport(strict=False)
    async with Runner(graph, transport=transport).run() as session:
        transport.push(created("r1"), function_call("r1", "c1", "transfer_to_billing"), done("r1"))
        await events_until(session, lambda e: e.type == "handoff")
    first, second = (e["session"] for e in transport.sent if e["type"] == "session.update")
    assert {k: first[k] for k in ("max_output_tokens", "truncation", "include", "parallel_tool_calls",
                                  "reasoning", "tool_choice", "prompt", "tracing")} == {
        "max_output_tokens": "inf", "truncation": "disabled",  # the agent's overrides win
        "include": ["item.input_audio_transcription.logprobs"], "parallel_tool_calls": False,
        "reasoning": {"effort": "low"}, "tool_choice": {"type": "mcp", "server_label": "crm", "name": "lookup"},
        "prompt": {"id": "pmpt_1", "version": "3", "variables": {"city": "Oslo"}},
        "tracing": {"workflow_name": "support", "group_id": "g1", "metadata": {"team": "a"}}}
    assert first["audio"]["input"]["noise_reduction"] == {"type": "far_field", "strength": 0.5}
    assert first["audio"]["input"]["transcription"] == {"model": "gpt-transcribe", "languages": ["en", "nb"],
                                                        "keywords": ["Acme"]}
    assert first["audio"]["input"]["turn_detection"] == {"type": "server_vad", "threshold": 0.6,
                                                         "idle_timeout_ms": 5000}
    assert first["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin",
                                        "speed": 1.2}
    assert first["tools"][1:] == [MCP_TOOL]
    assert second["max_output_tokens"] == 800 and second["truncation"]["type"] == "retention_ratio"
    assert second["tools"] == [{"type": "mcp", "server_label": "docs", "connector_id": "connector_googledrive",
                                    "authorization": "tok-from-env"}]
    for event in transport.sent:
        if event["type"] == "session.update":
            strict(event)


async def test_an_mcp_credential_quoted_back_by_the_server_is_redacted(folder, monkeypatch, tmp_path) -> None:
    """Headers are redacted structurally in echoed sessions; the values of the environment
    variables they reference also are wherever else they appear (an error quoting a header)."""
    monkeypatch.setenv("MCP_TOKEN", "tok-from-env")
    graph, _ = folder(GA_AGENTS, GA_SETTINGS)
    scripted = ScriptedTransport(strict=False)
    cassette = tmp_path / "call.jsonl"
    async with Runner(graph, transport=RecordingTransport(scripted, cassette)).run() as session:
        scripted.push({"type": "error", "error": {"type": "invalid_request_error", "code": "mcp_auth",
                                                  "message": "MCP server crm refused 'Bearer tok-from-env'"}})
        got = await events_until(session, lambda e: e.type == "error", raw=True)
    assert got[-1].to_dict()["error"]["message"] == "MCP server crm refused 'Bearer [redacted:MCP_TOKEN]'"
    assert "tok-from-env" not in str([e.to_dict() for e in got])
    text = cassette.read_text()
    assert "MCP server crm refused 'Bearer [redacted:MCP_TOKEN]'" in text and "tok-from-env" not in text
    assert scripted.sent[0]["session"]["tools"][-1]["headers"]["Authorization"] == "Bearer tok-from-env"


async def test_an_unset_mcp_secret_fails_the_start_by_name_only(folder, monkeypatch) -> None:
    monkeypatch.delenv("MCP_TOKEN", raising=False)
    graph, _ = folder(GA_AGENTS, GA_SETTINGS)
    with pytest.raises(SessionError) as raised:
        async with Runner(graph, transport=ScriptedTransport(strict=False)).run():
            pass
    assert str(raised.value) == "mcp tool 'crm' needs environment variable(s) MCP_TOKEN; set them before " \
                                "starting the session"


@pytest.mark.slow
async def test_the_simulator_accepts_the_full_update_and_a_dynamic_handoff(folder, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MCP_TOKEN", "tok-from-env")
    graph, module = folder(AGENTS, GA_SETTINGS.replace("tool_choice: {type: mcp, server_label: crm, name: lookup}",
                                                       "tool_choice: auto"))
    inner, sim = simulator()
    cassette = tmp_path / "call.jsonl"
    transport = RecordingTransport(inner, cassette)
    async with Runner(graph, transport=transport).run(context={"caller": "Cy", "vip": True}) as session:
        await session.send_message("please give me billing")
        got = await events_until(session, lambda e: e.type in ("handoff", "error"), timeout=10, raw=True)
        assert got[-1].type == "handoff"
    updates = [e["session"] for e in sim.received if e["type"] == "session.update"]
    assert [u["instructions"] for u in updates] == ["Triage for Cy as triage.", "Billing for Cy."]
    assert updates[0]["tools"][-1]["headers"] == {"Authorization": "Bearer tok-from-env", "X-Region": "eu"}
    assert not sim.emitted_of("error")
    assert module.CALLS[1] == ("enabled", "triage")
    # the server echoes the session; neither the app's raw events nor the cassette see the token
    echoed = [e.data for e in got if e.type == "raw_model_event" and e.data["type"] == "session.updated"]
    assert echoed and echoed[0]["session"]["tools"][-1]["headers"] == {"Authorization": "[redacted]",
                                                                      "X-Region": "[redacted]"}
    assert "tok-from-env" not in str([e.to_dict() for e in got])
    text = cassette.read_text()
    assert text.count('"Authorization":"[redacted]"') >= 3 and "tok-from-env" not in text  # 2 updates, 1+ echoes
