"""What ``rtgraph import`` writes for each SDK feature, and what it lists instead of dropping.

The documents are checked exactly (in-process, ``import_sdk_agent``); the written folders are
validated, so a loader gap shows up here as an RG error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime_graph.config import render_issues, validate
from realtime_graph.sdk_import import SdkImportError, import_sdk_agent, render_file, write_definition
from realtime_graph.sdk_import.sdk_agents import escape_template

FEATURES = '''
from pydantic import BaseModel
from agents import GuardrailFunctionOutput, HostedMCPTool, WebSearchTool, function_tool, output_guardrail
from agents.realtime import RealtimeAgent, RealtimeAgentHooks, realtime_handoff


class Escalation(BaseModel):
    reason: str


def on_escalate(ctx, data: Escalation) -> None:
    pass


def billing_open(ctx, agent) -> bool:
    return True


def dynamic_instructions(ctx, agent) -> str:
    return f"You are {agent.name}."


def approve_refund(ctx, params, call_id) -> bool:
    return params.get("amount", 0) > 100


@function_tool(timeout=5, needs_approval=approve_refund)
async def refund(amount: int) -> str:
    """Refund an amount."""
    return "ok"


@output_guardrail
def no_prices(ctx, agent, output) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="$" in output)


class Audit(RealtimeAgentHooks):
    pass


audit = Audit()

docs_mcp = HostedMCPTool(tool_config={
    "type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/sse",
    "headers": {"X-Api-Key": "sk-live-secret"}, "allowed_tools": ["search"], "require_approval": "never"})

billing = RealtimeAgent(name="Billing", instructions=dynamic_instructions, tools=[refund, docs_mcp],
                        output_guardrails=[no_prices], hooks=audit)
support = RealtimeAgent(
    name="Support",
    instructions="Help. {{ not a variable }}",
    handoffs=[
        realtime_handoff(billing, input_type=Escalation, on_handoff=on_escalate, is_enabled=billing_open,
                         tool_description_override="Escalate to billing."),
    ],
    prompt={"id": "pmpt_1", "version": "2"},
)
billing.handoffs = [realtime_handoff(support, is_enabled=False), support]

inline_tool = RealtimeAgent(
    name="Inline",
    instructions=lambda ctx, agent: "dynamic",
    tools=[function_tool(lambda city: city, name_override="lookup"), WebSearchTool()],
    handoffs=[RealtimeAgent(name="Support", instructions="A second agent also named Support.")],
)

front = RealtimeAgent(name="Front", instructions="Route.", handoffs=[support, inline_tool.handoffs[0]])

RUN_CONFIG = {
    "model_settings": {"voice": "coral", "max_output_tokens": 200, "tool_choice": "auto", "speed": 1.1,
                       "tracing": {"workflow_name": "support"}, "instructions": "ignored"},
    "output_guardrails": [no_prices],
    "async_tool_calls": False,
    "tracing_disabled": True,
}
'''


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("features")
    (folder / "rtg_features.py").write_text(FEATURES, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop("rtg_features", None)


def docs(target: str, run_config: str | None = None) -> dict[str, tuple[dict[str, object], list[str]]]:
    definition = import_sdk_agent(target, run_config=run_config)
    return {f.filename: (f.document, f.notes) for f in definition.files}


def test_every_sdk_feature_has_its_yaml_form(features: Path) -> None:
    written = docs("rtg_features:support", "rtg_features:RUN_CONFIG")
    assert list(written) == ["support.yaml", "billing.yaml", "graph.yaml"]
    assert written["support.yaml"] == ({
        "kind": "agent", "name": "Support",
        "instructions": "Help. {{ '{{' }} not a variable }}",
        "handoffs": [{"agent": "Billing", "description": "Escalate to billing.",
                      "input_type": "rtg_features:Escalation", "on_handoff": "rtg_features:on_escalate",
                      "enabled": "rtg_features:billing_open"}],
        "model_settings": {"prompt": {"id": "pmpt_1", "version": "2"}},
    }, [])
    assert written["billing.yaml"] == ({
        "kind": "agent", "name": "Billing",
        "instructions": {"entrypoint": "rtg_features:dynamic_instructions"},
        "tools": [{"entrypoint": "rtg_features:refund", "needs_approval": "rtg_features:approve_refund",
                   "timeout": "5s"}],
        "handoffs": [{"agent": "Support", "enabled": False}, {"agent": "Support"}],
        "output_guardrails": [{"entrypoint": "rtg_features:no_prices"}],
        "hooks": "rtg_features:audit",
    }, ["hosted MCP tool 'docs': written to graph.yaml model_settings.tools (hosted tools are session-wide in "
        "rtgraph; the SDK's realtime sessions refuse them)",
        "hosted MCP tool 'docs': header 'X-Api-Key' written as ${MCP_DOCS_X_API_KEY}; set that environment "
        "variable"])
    assert written["graph.yaml"] == ({
        "kind": "graph", "start": "Support",
        "model_settings": {"tool_choice": "auto", "tracing": {"workflow_name": "support"},
                           "audio": {"output": {"voice": "coral", "speed": 1.1}}, "max_output_tokens": 200,
                           "tools": [{"type": "mcp", "server_label": "docs",
                                      "server_url": "https://mcp.example.com/sse",
                                      "headers": {"X-Api-Key": "${MCP_DOCS_X_API_KEY}"},
                                      "allowed_tools": ["search"], "require_approval": "never"}]},
        "run": {"async_tool_calls": False, "tracing_disabled": True},
        "output_guardrails": [{"entrypoint": "rtg_features:no_prices"}],
        "imports": {"allow": ["rtg_features"]},
    }, ["model settings 'instructions': not written; rtgraph takes instructions, tools and handoffs from each "
        "agent (the SDK overwrites them from the agent on every agent switch)"])


def test_the_written_feature_folder_validates(features: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Needs the loader to accept SDK objects and shapes (issue 8: FunctionTool, OutputGuardrail,
    hooks objects, instructions entrypoints, handoff input_type/enabled entrypoints,
    max_output_tokens, hosted MCP tools)."""
    monkeypatch.setenv("MCP_DOCS_X_API_KEY", "sk-from-env")
    definition = import_sdk_agent("rtg_features:support", run_config="rtg_features:RUN_CONFIG")
    write_definition(definition, tmp_path / "out")
    assert "sk-live-secret" not in "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    report = validate(tmp_path / "out")
    assert report.errors == (), render_issues(report.issues)


def test_what_cannot_be_expressed_is_listed_on_top_of_the_file(features: Path, tmp_path: Path) -> None:
    definition = import_sdk_agent("rtg_features:inline_tool")
    assert [f.filename for f in definition.files] == ["inline.yaml", "support.yaml", "graph.yaml"]
    inline = definition.files[0]
    assert inline.document == {"kind": "agent", "name": "Inline", "handoffs": [{"agent": "Support"}]}
    assert inline.notes == [
        "instructions callable <lambda>: not a module attribute (a lambda or a local function?); define it at "
        "module level and import again",
        "tool 'lookup': not a module attribute (built inline?); assign the FunctionTool to a module-level name "
        "and import again",
        "tool 'web_search' (WebSearchTool): realtime sessions take function tools only (the SDK refuses it too); "
        "not written",
    ]
    text = render_file(inline, definition.source)
    assert text.startswith(
        "# Written by `rtgraph import rtg_features:inline_tool`.\n"
        "# NOT carried over (no YAML form in rtgraph, or no module-level name to point at):\n"
        "#   - instructions callable <lambda>: not a module attribute")
    assert "\nkind: agent\nname: Inline\n" in text
    assert definition.notes[0].startswith("inline.yaml: instructions callable <lambda>")


def test_two_agents_with_one_name_are_both_kept(features: Path) -> None:
    written = docs("rtg_features:front")
    assert list(written) == ["front.yaml", "support.yaml", "support_2.yaml", "billing.yaml", "graph.yaml"]
    assert written["front.yaml"][0]["handoffs"] == [
        {"agent": "Support"}, {"agent": "Support_2", "tool_name": "transfer_to_support",
                                "description": "Handoff to the Support agent to handle the request. "}]
    assert written["support_2.yaml"] == (
        {"kind": "agent", "name": "Support_2", "instructions": "A second agent also named Support."},
        ["another agent is also named 'Support'; this one is written as 'Support_2'"])


def test_cycles_are_walked_once(features: Path) -> None:
    names = [f.document.get("name") for f in import_sdk_agent("rtg_features:billing").files]
    assert names == ["Billing", "Support", None]


@pytest.mark.parametrize(("text", "escaped"), [
    ("plain", "plain"),
    ("{{x}}", "{{ '{{' }}x}}"),
    ("{% if %}{# c #}", "{{ '{%' }} if %}{{ '{#' }} c #}"),
    ("{{{", "{{ '{{' }}{"),
])
def test_escape_template(text: str, escaped: str) -> None:
    assert escape_template(text) == escaped


def test_bad_targets_are_one_line_errors(features: Path) -> None:
    with pytest.raises(SdkImportError, match=r"^module 'rtg_missing' not found \(looked in "):
        import_sdk_agent("rtg_missing:agent")
    with pytest.raises(SdkImportError, match=r"^rtg_features:RUN_CONFIG is a dict, not an agents.realtime.RealtimeAgent$"):
        import_sdk_agent("rtg_features:RUN_CONFIG")
    with pytest.raises(SdkImportError, match=r"^module 'rtg_features' has no attribute 'nope'$"):
        import_sdk_agent("rtg_features:nope")
    with pytest.raises(SdkImportError, match=r"^agent 'rtg_features' is not MODULE:NAME"):
        import_sdk_agent("rtg_features")
    with pytest.raises(SdkImportError, match=r"^rtg_features:support is a RealtimeAgent, not a RealtimeRunConfig"):
        import_sdk_agent("rtg_features:support", run_config="rtg_features:support")


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agents", None)  # what an environment without openai-agents sees
    with pytest.raises(SdkImportError, match=r"^rtgraph import needs the OpenAI Agents SDK: "
                                             r"pip install 'realtime-graph\[sdk\]' \(or openai-agents\)$"):
        import_sdk_agent("anything:agent")
