"""The SDK-shaped YAML the loader accepts: dynamic instructions, handoff ``enabled``/``input_filter``,
Python constants as variable defaults, and GA session settings with hosted MCP tools.
Validation output is asserted exactly (location, code, message, hint)."""

from __future__ import annotations

import itertools
import sys
import textwrap
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime_graph.config import render_issues, validate
from realtime_graph.errors import TemplateRenderError
from realtime_graph.graph.model import Secret

_NAMES = itertools.count()

CODE = '''
GREETING = "Welcome to Acme."
MAX_ITEMS = 3
RATIO = 0.5
STRICT = True
NOTHING = None

def build(context, agent) -> str:
    return "hi"

async def open_hours(context, agent) -> bool:
    return True

def trim(handoff_input_data):
    return handoff_input_data
'''


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[Any, str]]]:
    """``folder(graph_yaml, agents_yaml, **kw) -> (report, module name)`` validated from a real folder
    (``{mod}`` in the YAML is the user module's name); paths in the output are relative."""
    monkeypatch.chdir(tmp_path)
    names: list[str] = []

    def build(graph_yaml: str, agents_yaml: str, **kw: Any) -> tuple[Any, str]:
        name = f"rtg_sdk_graph_{next(_NAMES)}"
        names.append(name)
        Path(name).mkdir()
        Path(name, f"{name}.py").write_text(CODE)
        for file, text in (("graph.yaml", graph_yaml), ("agents.yaml", agents_yaml)):
            Path(name, file).write_text(textwrap.dedent(text).replace("{mod}", name))
        return validate(name, environ=kw.pop("environ", {}), **kw), name

    yield build
    for name in names:
        sys.modules.pop(name, None)


ONE_AGENT = "kind: agent\nname: main\ninstructions: \"{{ greeting }} {{ n }} {{ ratio }} {{ strict }}\"\n"


def test_variable_defaults_from_python_constants_take_their_type(folder) -> None:
    report, _ = folder("""
        kind: graph
        start: main
        variables:
          greeting: {default: {entrypoint: "{mod}:GREETING"}}
          n: {default: {entrypoint: "{mod}:MAX_ITEMS"}}
          ratio: {type: number, default: {entrypoint: "{mod}:RATIO"}}
          strict: {default: {entrypoint: "{mod}:STRICT"}}
        """, ONE_AGENT)
    assert report.issues == ()
    variables = report.graph.variables
    assert [(v.type, v.default) for v in variables.values()] == [
        ("string", "Welcome to Acme."), ("integer", 3), ("number", 0.5), ("boolean", True)]
    text = report.graph.agent("main").instructions.render(report.graph.variable_values())
    assert text == "Welcome to Acme. 3 0.5 True"


def test_the_sdk_recommended_prompt_prefix_is_a_variable_default(folder) -> None:
    pytest.importorskip("agents")
    from agents.extensions.handoff_prompt import RECOMMENDED_PROMPT_PREFIX

    report, _ = folder("""
        kind: graph
        start: main
        variables:
          prefix: {default: {entrypoint: "agents.extensions.handoff_prompt:RECOMMENDED_PROMPT_PREFIX"}}
        """, "kind: agent\nname: main\ninstructions: \"{{ prefix }}\\nYou triage.\"\n")
    assert report.issues == ()
    rendered = report.graph.agent("main").instructions.render(report.graph.variable_values())
    assert rendered == RECOMMENDED_PROMPT_PREFIX + "\nYou triage."


def test_constant_defaults_that_are_missing_or_none_are_located(folder) -> None:
    report, name = folder("""
        kind: graph
        start: main
        variables:
          greeting: {default: {entrypoint: "{mod}:GREETNG"}}
          n: {default: {entrypoint: "{mod}:NOTHING"}}
          ratio: {default: {entrypoint: "no_such_module_xyz:RATIO"}}
          strict: {type: boolean}
        """, ONE_AGENT)
    assert render_issues(report.issues) == (
        f"{name}/graph.yaml:5:36: error RG303: '{name}' has no attribute 'GREETNG'\n"
        f"  hint: did you mean {name}:GREETING?\n"
        f"{name}/graph.yaml:6:29: error RG505: default of variable 'n' comes from '{name}:NOTHING', which is "
        "of type NoneType\n"
        "  hint: point at a str, int, float or bool constant (or compute the text in `instructions: "
        "{entrypoint: module:function}`)\n"
        f"{name}/graph.yaml:7:33: error RG301: module 'no_such_module_xyz' not found\n"
        f"  hint: looked in {name} and sys.path; put no_such_module_xyz.py next to the YAML or install it\n"
        "3 errors, 0 warnings")


AGENTS = """
kind: agent
name: main
instructions: {entrypoint: "{mod}:build"}
handoffs:
  - agent: billing
    enabled: "{mod}:open_hours"
    input_filter: "{mod}:trim"
  - agent: support
    enabled: false
---
kind: agent
name: billing
instructions: Billing.
---
kind: agent
name: support
instructions: Support.
"""


def test_dynamic_instructions_enabled_and_input_filter_load(folder) -> None:
    report, name = folder("kind: graph\nstart: main\n", AGENTS)
    assert render_issues(report.issues) == (
        f"{name}/agents.yaml:8:19: warning RG211: input_filter is not applied: a realtime handoff keeps the "
        "server-side conversation, so the next agent sees the whole history\n"
        "  hint: remove it: the SDK ignores input_filter for realtime agents too\n"
        f"{name}/agents.yaml:17:7: warning RG207: agent 'support' is unreachable "
        "from start agent 'main'\n"
        "  hint: add a handoff to 'support' from a reachable agent, or remove it\n"
        "0 errors, 2 warnings")
    main = report.graph.agent("main")
    assert main.instructions.dynamic and main.instructions.source == f"{name}:build"
    assert main.instructions.entrypoint.target(None, main) == "hi"
    billing, support = main.handoffs
    assert (billing.enabled, billing.enabled_when.ref, billing.input_filter.ref) == (
        True, f"{name}:open_hours", f"{name}:trim")
    assert billing.enabled_when.is_async
    assert (support.enabled, support.enabled_when) == (False, None)
    with pytest.raises(TemplateRenderError, match="an entrypoint called by the session"):
        main.instructions.render({})


def test_no_import_checks_the_sdk_shapes_statically(folder) -> None:
    report, name = folder("kind: graph\nstart: main\nvariables:\n  g: {default: {entrypoint: \"{mod}:GREETING\"}}\n",
                          AGENTS.replace("{mod}:build", "{mod}:bild"), import_entrypoints=False)
    assert [(i.code, i.line, i.message) for i in report.issues] == [
        ("RG303", 4, f"'{name}' has no attribute 'bild'"),
        ("RG211", 8, "input_filter is not applied: a realtime handoff keeps the server-side conversation, "
                     "so the next agent sees the whole history"),
        ("RG207", 17, "agent 'support' is unreachable from start agent 'main'")]
    assert sys.modules.get(name) is None  # nothing was imported


MCP_GRAPH = """
kind: graph
start: main
model_settings:
  tools:
    - type: mcp
      server_label: crm
      server_url: https://mcp.example.com
      connector_id: connector_gmail
    - type: mcp
      server_label: docs
      tunnel_id: tun_1
      headers: {Authorization: "Bearer ${MCP_TOKEN}", X-Api-Key: "${MCP_KEY:-sk-fallback-SECRET}"}
      authorization: oauth-SECRET
"""


def test_mcp_tools_are_checked_without_echoing_secrets(folder) -> None:
    report, name = folder(MCP_GRAPH, "kind: agent\nname: main\ninstructions: Hi.\n")
    text = render_issues(report.issues)
    assert text == (
        f"{name}/graph.yaml:6:7: error RG110: mcp tool 'crm' needs exactly one of server_url, connector_id or "
        "tunnel_id, got server_url, connector_id\n"
        "  hint: e.g. server_url: https://mcp.example.com/sse\n"
        f"{name}/graph.yaml:13:32: warning RG502: environment variable MCP_TOKEN is not set and has no default\n"
        "  hint: export MCP_TOKEN=... or write ${MCP_TOKEN:-default}\n"
        f"{name}/graph.yaml:13:66: error RG503: header 'X-Api-Key' of mcp tool 'docs' must not have a literal "
        "`:-default` (a literal secret)\n"
        "  hint: write X-Api-Key: \"Bearer ${MCP_TOKEN}\" (or \"${MY_KEY}\") and export it\n"
        f"{name}/graph.yaml:14:22: error RG503: authorization of mcp tool 'docs' must use an ${{ENV}} reference, "
        "not a literal secret\n"
        "  hint: write authorization: \"${MCP_OAUTH_TOKEN}\" and export it\n"
        "3 errors, 1 warning")
    assert "SECRET" not in text


@pytest.mark.parametrize(("settings", "expected"), [
    ("max_output_tokens: 5000", "4:22: error RG110: must be <= 4096\n  hint: Most output tokens per response, "
                                "tool calls included: 1..4096, or `inf` (the default)."),
    ("truncation: {type: retention_ratio}", "4:15: error RG112: missing required key 'retention_ratio'\n"
                                            "  hint: Fraction of post-instruction tokens kept (0..1)."),
    ("reasoning: {effort: extreme}", "4:23: error RG110: must be one of minimal, low, medium, high, xhigh, "
                                     "got 'extreme'\n  hint: Reasoning effort."),
    ("tool_choice: {type: mcp}", "4:16: error RG112: missing required key 'server_label'"),
    ("tools: [{type: mcp, server_label: x, server_url: u, require_approval: sometimes}]",
     "4:73: error RG110: 'sometimes' has an invalid format\n"
     "  hint: `always`, `never`, or `{always: filter, never: filter}`."),
])
def test_ga_settings_schema_errors_are_located(folder, settings: str, expected: str) -> None:
    report, name = folder(f"kind: graph\nstart: main\nmodel_settings:\n  {settings}\n",
                          "kind: agent\nname: main\ninstructions: Hi.\n")
    assert render_issues(report.issues) == f"{name}/graph.yaml:{expected}\n1 error, 0 warnings"


def test_mcp_secrets_stay_references_in_the_graph(folder) -> None:
    report, _ = folder("""
        kind: graph
        start: main
        model_settings:
          tools: [{type: mcp, server_label: crm, server_url: "https://mcp.example.com",
                   headers: {Authorization: "Bearer ${MCP_TOKEN}", X-Region: eu},
                   authorization: "${MCP_OAUTH}"}]
        """, "kind: agent\nname: main\ninstructions: Hi.\n", environ={"MCP_TOKEN": "t", "MCP_OAUTH": "o"})
    assert report.issues == ()
    (tool,) = report.graph.model_settings["tools"]
    assert tool["headers"]["Authorization"] == Secret("Bearer ${MCP_TOKEN}")
    assert tool["headers"]["X-Region"] == "eu" and tool["authorization"] == Secret("${MCP_OAUTH}")


def test_hot_reload_watches_the_modules_of_dynamic_instructions_and_enabled(folder) -> None:
    from realtime_graph.reload.changes import user_module_files

    report, name = folder("kind: graph\nstart: main\n", AGENTS)
    assert user_module_files(report.graph) == {Path(name, f"{name}.py").absolute()}


MaybeAwaitable = typing.Union[typing.Awaitable[str], str]  # noqa: UP007  (the SDK spells it so)


def _sdk_style(ctx: object, agent: object) -> MaybeAwaitable: ...
def _plain(ctx, agent) -> str: ...
async def _async(ctx, agent) -> str: ...
def _coroutine(ctx, agent) -> typing.Coroutine[typing.Any, typing.Any, str]: ...
def _unannotated(ctx, agent): ...
def _optional(ctx, agent) -> str | None: ...
def _number(ctx, agent) -> int: ...
def _unresolvable(ctx, agent) -> NoSuchType: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(("fn", "problem"), [
    (_sdk_style, None), (_plain, None), (_async, None), (_coroutine, None), (_unannotated, None),
    (_unresolvable, None), (_optional, "str | None"), (_number, "int"),
])
def test_instructions_return_annotations_the_sdk_uses_pass(fn, problem) -> None:
    from realtime_graph.config.agents import _returns_other_than

    assert _returns_other_than(fn, str) == problem
