"""The telephony YAML through the real loader: schema, located RG6xx issues, and the typed views."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_graph.config import load, validate_string
from realtime_graph.config.telephony_checks import TELEPHONY_CODES
from realtime_graph.telephony import call_control_tools, route_call, routing_from_mapping

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).parents[2] / "docs" / "telephony.md"


def test_fixture_loads_and_routes():
    graph = load(FIXTURES / "phone_ok", environ={"OPENAI_WEBHOOK_SECRET": "whsec_x", "TWILIO_AUTH_TOKEN": "t"})
    routing = routing_from_mapping(graph.telephony)
    d = route_call(routing, default_agent=graph.start, headers=(("From", "sip:+1415@pstn"), ("x-line", "billing")))
    assert (d.agent, dict(d.context)) == ("billing", {"caller": "sip:+1415@pstn", "line": "billing"})
    assert route_call(routing, default_agent=graph.start).agent == "triage"
    tools = call_control_tools(graph.agents["triage"].call_control)
    assert [(t.name, t.target) for t in tools] == [("hangup", None), ("transfer_to_human", "tel:+14155550123")]
    assert call_control_tools(graph.agents["billing"].call_control)[0].description == "Hang up after saying goodbye."
    assert graph.telephony["webhook_secret"] == "${OPENAI_WEBHOOK_SECRET}"  # a reference, never the value


AGENTS = """
---
kind: agent
name: triage
instructions: hi
tools: []
---
kind: agent
name: billing
instructions: hi
"""


def _issues(graph_yaml: str, agents: str = AGENTS):
    report = validate_string(graph_yaml + agents, filename="phone.yaml", import_entrypoints=False)
    return [(i.code, i.line, i.column, i.path, i.message, i.hint) for i in report.issues]


def test_unknown_agent_undeclared_and_non_string_variable_bad_regex():
    text = """kind: graph
start: triage
variables:
  vip: {type: boolean, default: false}
telephony:
  routing:
    - when: [{header: To, regex: "(unclosed"}]
      agent: biling
      set:
        caller: {header: From}
        vip: "yes"
"""
    assert _issues(text) == [
        ("RG603", 7, 34, "$.telephony.routing[0].when[0].regex",
         "invalid regular expression '(unclosed': missing ), unterminated subpattern at position 0",
         "fix the pattern (Python `re` syntax)"),
        ("RG601", 8, 14, "$.telephony.routing[0].agent", "routing rule sends calls to unknown agent 'biling'",
         "did you mean 'billing'?"),
        ("RG602", 10, 9, "$.telephony.routing[0].set.caller", "routing rule sets undeclared variable 'caller'",
         "declare it under `variables:` (caller: {type: string})"),
        ("RG602", 11, 9, "$.telephony.routing[0].set.vip",
         "routing rule sets variable 'vip' of type boolean; routed values are strings",
         "declare the variable with `type: string`"),
        # routed agents count as entry points, but this rule names 'biling', so billing stays unreachable
        ("RG207", 20, 7, "$.name", "agent 'billing' is unreachable from start agent 'triage'",
         "add a handoff to 'billing' from a reachable agent, or remove it"),
    ]


def test_schema_shapes_and_literal_secret():
    text = """kind: graph
start: triage
telephony:
  webhook_secret: whsec_literal
  routing:
    - when: [{header: To, exact: a, glob: b}]
      agent: billing
"""
    issues = _issues(text)
    # the schema error stops the semantic checks, so the literal secret is reported once the shape is fixed
    assert [(c, line, col, path) for c, line, col, path, _, _ in issues] == [("RG110", 6, 14, "$.telephony.routing[0].when[0]")]
    fixed = _issues(text.replace(", glob: b", ""))
    assert [(c, line, path, h) for c, line, _, path, _, h in fixed] == [
        ("RG503", 4, "$.telephony.webhook_secret", "use an ${ENV} reference, e.g. webhook_secret: ${OPENAI_WEBHOOK_SECRET}")]
    # billing has no handoff leading to it, but a routing rule starts calls on it: no RG207
    unrouted = _issues(text.replace(", glob: b", "").replace("agent: billing", "agent: triage"))
    assert [(c, line, path) for c, line, _, path, _, _ in unrouted if c == "RG207"] == [("RG207", 16, "$.name")]
    issues += fixed
    assert all("whsec_literal" not in (m + (h or "")) for *_, m, h in issues)


def test_call_control_bad_target_and_name_clash():
    agents = """
---
kind: agent
name: triage
instructions: hi
handoffs: [billing]
call_control:
  hangup: true
  transfer:
    - {name: transfer_to_billing, target: "tel:555-0123"}
    - {name: hangup, target: "sip:desk@example.com"}
---
kind: agent
name: billing
instructions: hi
"""
    issues = _issues("kind: graph\nstart: triage\n", agents)
    assert [(c, line, col, path) for c, line, col, path, _, _ in issues] == [
        ("RG605", 12, 14, "$.call_control.transfer[0].name"),
        ("RG604", 12, 43, "$.call_control.transfer[0].target"),
        ("RG605", 13, 14, "$.call_control.transfer[1].name"),
    ]
    assert issues[1][4] == ("'tel:555-0123' is not a global tel: number; write it as tel:+<country code><number>, "
                            "e.g. tel:+14155550123")
    assert issues[0][4] == "call-control tool 'transfer_to_billing' has the name of a tool or handoff of this agent"
    assert issues[2][4] == "call-control tool name 'hangup' is used twice"


def test_codes_are_documented():
    text = DOCS.read_text()
    for code, title in TELEPHONY_CODES.items():
        assert f"| `{code}` | {title} |" in text


@pytest.mark.parametrize("bad", ["{parameter: To}", "{header: To, exact: 1}", "{header: To, fuzzy: x}"])
def test_condition_schema_errors(bad):
    text = f"kind: graph\nstart: triage\ntelephony:\n  routing:\n    - when: [{bad}]\n      agent: billing\n"
    assert {c for c, *_ in _issues(text)} <= {"RG110", "RG111", "RG112"} and _issues(text)
