"""The loader API: model objects, defaults, normalisation, versions, import modes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from realtime_graph.config import load, load_dict, load_string, render_issues, validate
from realtime_graph.errors import ConfigError, Severity
from realtime_graph.graph.model import Graph, Secret, thaw

EXAMPLE = Path(__file__).parents[2] / "agents.d"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_example_folder_loads_into_the_model() -> None:
    graph = load(EXAMPLE, environ={})
    assert isinstance(graph, Graph)
    assert graph.start == "concierge" and sorted(graph.agents) == ["booking", "concierge", "weather"]
    weather = graph.agent("weather").tools[0]
    assert weather.to_wire() == {
        "type": "function", "name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "additionalProperties": False, "required": ["city"],
                       "properties": {"city": {"type": "string", "description": 'Name of the city, e.g. "Paris".'}}},
    }
    assert weather.timeout == 5.0 and not weather.entrypoint.is_async
    assert weather.entrypoint.resolve()("Paris") == "The weather in Paris is sunny, 21 °C."
    booking = graph.agent("booking").tools[0]
    assert booking.needs_approval is True and booking.entrypoint.is_async
    assert graph.variables["company"].default == Secret("${COMPANY_NAME:-Acme Travel}")
    assert graph.variable_values({}) == {"company": "Acme Travel", "max_party_size": 8}
    rendered = graph.agent("concierge").instructions.render(graph.variable_values({"COMPANY_NAME": "Globex"}))
    assert rendered.startswith("You are the voice concierge of Globex.\n")
    assert [g.name for g in graph.output_guardrails] == ["no_card_numbers"]
    assert graph.output_guardrails[0].deny[0].search("card 4111 1111 1111 1111")


def test_handoff_defaults_follow_the_sdk() -> None:
    graph = load_dict([
        {"kind": "graph", "start": "Front Desk"},
        {"kind": "agent", "name": "Front Desk", "handoffs": ["Billing Support", {"agent": "Billing Support",
                                                             "tool_name": "escalate", "enabled": False}]},
        {"kind": "agent", "name": "Billing Support", "description": "Handles invoices."},
    ])
    plain, custom = graph.agent("Front Desk").handoffs
    assert plain.tool_name == "transfer_to_billing_support"
    assert plain.description == "Handoff to the Billing Support agent to handle the request. Handles invoices."
    assert (custom.tool_name, custom.enabled) == ("escalate", False)
    assert graph.agent("Front Desk").tool("escalate") is None  # disabled: not model-visible


def test_legacy_flat_settings_are_normalised_nested_winning() -> None:
    graph = load_string(textwrap.dedent("""\
        kind: graph
        start: a
        model_settings:
          voice: alloy
          speed: 1.2
          input_audio_format: g711_ulaw
          output_audio_format: pcm16
          input_audio_transcription: {model: whisper-1}
          input_audio_noise_reduction: {type: near_field}
          turn_detection: {type: server_vad}
          modalities: [text, audio]
          audio:
            output: {voice: cedar}
        ---
        kind: agent
        name: a
        model_settings: {voice: cedar, tool_choice: required}
        """), environ={})
    assert thaw(graph.model_settings) == {
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": {"type": "audio/pcmu"}, "transcription": {"model": "whisper-1"},
                      "noise_reduction": {"type": "near_field"}, "turn_detection": {"type": "server_vad"}},
            "output": {"voice": "cedar", "speed": 1.2, "format": {"type": "audio/pcm", "rate": 24000}},
        },
    }
    assert thaw(graph.agent("a").model_settings) == {"tool_choice": "required", "audio": {"output": {"voice": "cedar"}}}


def test_transport_secrets_become_secret_references() -> None:
    graph = load_string(textwrap.dedent("""\
        kind: graph
        start: a
        transport:
          type: openai
          api_key: "${MY_KEY}"
          headers: {Authorization: "Bearer ${MY_KEY}", X-Trace: "1"}
          model: gpt-realtime
        ---
        {kind: agent, name: a}
        """), environ={"MY_KEY": "sk-123"})
    transport = graph.transport
    assert transport.api_key == Secret("${MY_KEY}") and transport.api_key.reveal({"MY_KEY": "k"}) == "k"
    assert dict(transport.headers) == {"Authorization": Secret("Bearer ${MY_KEY}"), "X-Trace": "1"}
    assert "sk-123" not in repr(graph)


def test_literal_secret_never_appears_in_issues() -> None:
    report = validate_text("""\
        kind: graph
        start: a
        transport: {api_key: sk-VERYSECRET, headers: {api-key: VERYSECRET2}}
        ---
        {kind: agent, name: a}
        """)
    assert [i.code for i in report.errors] == ["RG503", "RG503"]
    assert "VERYSECRET" not in repr(report.issues)


def validate_text(text: str, **kw):
    from realtime_graph.config import validate_string

    return validate_string(textwrap.dedent(text), filename="t.yaml", environ={}, **kw)


def test_load_raises_config_error_with_every_issue() -> None:
    with pytest.raises(ConfigError) as caught:
        load_string("kind: graph\nstart: nobody\nbogus: 1\n---\nkind: agent\nname: a\ntoolz: []\n",
                    filename="x.yaml")
    codes = [(i.code, i.line) for i in caught.value.issues]
    assert codes == [("RG111", 3), ("RG111", 7)]
    assert str(caught.value).startswith("2 error(s); first: x.yaml:3:1: RG111: unknown key 'bogus'")


def test_version_is_a_deterministic_content_hash(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": "kind: graph\nstart: a\n", "a.yml": "kind: agent\nname: a\n"})
    first = load(tmp_path).version
    assert re.fullmatch(r"[0-9a-f]{12}", first) and load(tmp_path).version == first
    (tmp_path / "a.yml").write_text("kind: agent\nname: a\n ")
    assert load(tmp_path).version != first


def test_warnings_do_not_block_the_graph(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": "kind: graph\nstart: a\n", "a.yaml": "kind: agent\nname: a\n---\nkind: agent\nname: b\n"})
    report = validate(tmp_path)
    assert report.ok and report.graph is not None
    assert [(i.code, i.severity) for i in report.issues] == [("RG207", Severity.WARNING)]


def test_tool_context_parameter_and_declared_parameters(tmp_path: Path) -> None:
    write(tmp_path, {
        "loader_ctx_tools.py": '''\
            from typing import Literal, Optional
            import enum

            class Unit(enum.Enum):
                C = "celsius"
                F = "fahrenheit"

            def forecast(city: str, days: int = 1, unit: Unit = Unit.C, tags: list[str] | None = None,
                         mode: Literal["short", "long"] = "short", ratio: Optional[float] = None,
                         context=None) -> str:
                """Forecast for a city.

                Several days.

                Args:
                    city: The city.
                    days (int): How many
                        days ahead.
                """
                return city

            def lookup(**kwargs):
                return kwargs
            ''',
        "g.yaml": "kind: graph\nstart: a\n",
        "a.yaml": """\
            kind: agent
            name: a
            tools:
              - entrypoint: loader_ctx_tools:forecast
              - entrypoint: loader_ctx_tools:lookup
                name: lookup_anything
                description: Look anything up.
                parameters: {type: object, properties: {q: {type: string}}}
                timeout: 500ms
            """,
    })
    forecast, lookup = load(tmp_path).agent("a").tools
    assert forecast.takes_context and forecast.description == "Forecast for a city."
    assert thaw(forecast.parameters) == {
        "type": "object", "additionalProperties": False, "required": ["city"],
        "properties": {
            "city": {"type": "string", "description": "The city."},
            "days": {"type": "integer", "description": "How many days ahead."},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "tags": {"type": ["array", "null"], "items": {"type": "string"}},
            "mode": {"type": "string", "enum": ["short", "long"]},
            "ratio": {"type": ["number", "null"]},
        },
    }
    assert (lookup.name, lookup.timeout, thaw(lookup.parameters)["properties"]) == (
        "lookup_anything", 0.5, {"q": {"type": "string"}})


def test_reimport_picks_up_edited_tool_modules(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": "kind: graph\nstart: a\n",
                     "a.yaml": "kind: agent\nname: a\ntools: [{entrypoint: 'reimport_tools:answer'}]\n",
                     "reimport_tools.py": "def answer() -> str:\n    return 'one'\n"})
    assert load(tmp_path).agent("a").tools[0].entrypoint.resolve()() == "one"
    (tmp_path / "reimport_tools.py").write_text("def answer() -> str:\n    return 'two!'\n")
    assert load(tmp_path).agent("a").tools[0].entrypoint.resolve()() == "one"  # cached module
    assert load(tmp_path, reimport=True).agent("a").tools[0].entrypoint.resolve()() == "two!"


def test_no_import_checks_source_without_executing(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    write(tmp_path, {
        "g.yaml": "kind: graph\nstart: a\n",
        "a.yaml": "kind: agent\nname: a\ntools: [{entrypoint: 'noimport_tools:run'}, {entrypoint: 'noimport_tools:gone'}]\n",
        "noimport_tools.py": f"open({str(marker)!r}, 'w').close()\n\nasync def run():\n    pass\n",
    })
    report = validate(tmp_path, import_entrypoints=False)
    assert [(i.code, i.message) for i in report.errors] == [("RG303", "'noimport_tools' has no attribute 'gone'")]
    assert not marker.exists()


def test_no_import_graph_keeps_unresolved_entrypoints(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": "kind: graph\nstart: a\n",
                     "a.yaml": "kind: agent\nname: a\ntools: [{entrypoint: 'json:dumps'}]\n"})
    tool = load(tmp_path, import_entrypoints=False).agent("a").tools[0]
    assert tool.entrypoint.target is None and tool.name == "dumps"


def test_entrypoint_conventions_are_checked(tmp_path: Path) -> None:
    write(tmp_path, {
        "conv_tools.py": "def three(a, b, c):\n    pass\n\ndef one(a):\n    pass\n\nasync def guard(text, context):\n    return None\n",
        "g.yaml": """\
            kind: graph
            start: a
            hooks: {on_agent_start: 'conv_tools:three'}  # fn(event) or the SDK's fn(context, agent)
            run: {tool_error_formatter: 'conv_tools:one'}
            output_guardrails: [{entrypoint: 'conv_tools:guard'}, {entrypoint: 'conv_tools:one'}]
            """,
        "a.yaml": "kind: agent\nname: a\ntools: [{entrypoint: 'conv_tools:one', needs_approval: 'conv_tools:one'}]\n",
    })
    report = validate(tmp_path)
    assert [(i.code, i.path) for i in report.errors] == [
        ("RG305", "$.tools[0].needs_approval"),
        ("RG305", "$.hooks.on_agent_start"),
        ("RG305", "$.output_guardrails[1].entrypoint"),
    ]


def test_config_error_summary_omits_unknown_line_and_column(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as caught:
        load(missing)
    assert str(caught.value) == f"1 error(s); first: {missing}: RG106: {missing} does not exist"


# -- imports.allow binds even when the graph document is invalid ----------------------------------
def _side_effect_module(folder: Path, module: str) -> Path:
    """A tool module that leaves a marker file behind when it is imported."""
    marker = folder / f"{module}-was-imported"
    (folder / f"{module}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n\n\ndef f() -> str:\n    return 'x'\n")
    return marker


def test_allow_list_of_an_invalid_graph_document_still_blocks_imports(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    marker = _side_effect_module(tmp_path, "allow_invalid_evil")
    write(tmp_path, {"graph.yaml": "kind: graph\nstart: a\nimports: {allow: [safe_pkg]}\nbogus_key: 1\n",
                     "a.yaml": "kind: agent\nname: a\ntools:\n  - entrypoint: allow_invalid_evil:f\n"})
    monkeypatch.chdir(tmp_path)
    report = validate(".")
    assert render_issues(report.issues).splitlines() == [
        "a.yaml:4:17: error RG308: module 'allow_invalid_evil' is not in imports.allow",
        "  hint: allowed prefixes: safe_pkg; add it to imports.allow in the graph file",
        "graph.yaml:4:1: error RG111: unknown key 'bogus_key'",
        "  hint: valid keys: kind, start, variables, model_settings, run, output_guardrails, hooks, transport, serve, telephony, greeting, imports",
        "2 errors, 0 warnings",
    ]
    assert not marker.exists()


def test_no_module_is_imported_while_the_graph_file_does_not_parse(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    marker = _side_effect_module(tmp_path, "allow_unparsed_evil")
    write(tmp_path, {"graph.yaml": "kind: graph\nstart: a\nimports: {allow: [safe_pkg]\n",
                     "a.yaml": "kind: agent\nname: a\ntools:\n  - entrypoint: allow_unparsed_evil:f\n"})
    monkeypatch.chdir(tmp_path)
    assert [(i.code, i.file) for i in validate(".").issues] == [("RG101", "graph.yaml")]
    assert not marker.exists()


# -- tool introspection: one guarded signature --------------------------------------------------
_HINTED_TOOLS = """\
    class Thing:
        pass

    def with_context(x: Thing, context) -> str:
        return 'x'

    def positional(x: Thing, /) -> str:
        return 'x'
    """
_DECLARED_X = "    parameters: {type: object, properties: {x: {type: string}}, required: [x]}\n"


def test_declared_parameters_do_not_hide_the_context_parameter(tmp_path: Path) -> None:
    write(tmp_path, {"hinted_ctx_tools.py": _HINTED_TOOLS, "g.yaml": "kind: graph\nstart: a\n",
                     "a.yaml": "kind: agent\nname: a\ntools:\n  - entrypoint: hinted_ctx_tools:with_context\n"
                               + _DECLARED_X})
    assert load(tmp_path).agent("a").tools[0].takes_context  # the runtime passes context only then


def test_declared_parameters_do_not_skip_the_positional_only_check(tmp_path: Path) -> None:
    write(tmp_path, {"hinted_pos_tools.py": _HINTED_TOOLS, "g.yaml": "kind: graph\nstart: a\n",
                     "a.yaml": "kind: agent\nname: a\ntools:\n  - entrypoint: hinted_pos_tools:positional\n"
                               + _DECLARED_X})
    assert [(i.code, i.line, i.column, i.message) for i in validate(tmp_path).issues] == [
        ("RG305", 4, 17, "tool entrypoint 'hinted_pos_tools:positional' is called with keyword arguments; "
                         "positional-only parameter 'x' cannot receive one")]


def test_builtin_without_signature_with_declared_parameters_is_valid() -> None:
    graph = load_string("kind: graph\nstart: a\n---\nkind: agent\nname: a\ntools:\n  - entrypoint: builtins:max\n"
                        "    parameters: {type: object, properties: {a: {type: number}}}\n", environ={})
    tool = graph.agent("a").tools[0]
    assert (tool.name, tool.takes_context, thaw(tool.parameters)) == (
        "max", False, {"type": "object", "properties": {"a": {"type": "number"}}})


# -- --no-import: names the ast check accepts ---------------------------------------------------
def test_no_import_accepts_names_defined_in_if_try_and_with_blocks(tmp_path: Path) -> None:
    write(tmp_path, {
        "blocks_tools.py": """\
            import contextlib
            import sys

            if sys.platform == "never":
                def in_if(): pass
            else:
                def in_else(): pass
            try:
                def in_try(): pass
            except ImportError:
                def in_except(): pass
            finally:
                def in_finally(): pass
            with contextlib.suppress(Exception):
                async def in_with(): pass
            """,
        "g.yaml": "kind: graph\nstart: a\n",
        "a.yaml": "kind: agent\nname: a\ntools:\n" + "".join(
            f"  - entrypoint: blocks_tools:{name}\n"
            for name in ("in_if", "in_else", "in_try", "in_except", "in_finally", "in_with", "missing")),
    })
    report = validate(tmp_path, import_entrypoints=False)
    assert [(i.code, i.line, i.message) for i in report.issues] == [
        ("RG303", 10, "'blocks_tools' has no attribute 'missing'")]
