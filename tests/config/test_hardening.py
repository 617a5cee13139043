"""Hostile input: every case the issue-12 fuzzer found is a located issue, never an exception."""

from __future__ import annotations

import enum
import os
import textwrap
import time
from pathlib import Path

import pytest

from realtime_graph.config import load_string, render_issues, validate, validate_dict, validate_string
from realtime_graph.config.durations import parse_duration
from realtime_graph.errors import TemplateRenderError, redact_url
from realtime_graph.graph.rendering import render_instructions

GRAPH = "kind: graph\nstart: main\nvariables:\n  company: {default: Acme}\n"


def agent(instructions: str) -> str:
    return f"kind: agent\nname: main\ninstructions: {instructions}\n"


def issues(report) -> list[tuple[str, str, int | None]]:
    return [(i.code, i.message, i.line) for i in report.issues]


def test_a_file_name_that_is_not_utf8_is_a_located_rg109(tmp_path: Path) -> None:
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: main\n")
    (tmp_path / "main.yaml").write_text(agent("Hi"))
    with open(os.path.join(os.fsencode(tmp_path), b"\xff\xfeodd.yaml"), "wb") as f:
        f.write(b"kind: agent\nname: odd\n")
    report = validate(tmp_path, environ={})
    (issue,) = report.issues
    assert (issue.code, issue.message, issue.line) == ("RG109", "file name is not valid UTF-8", 1)
    assert issue.file == f"{tmp_path}/\\xff\\xfeodd.yaml"
    render_issues(report.issues).encode("utf-8")  # printable everywhere


def test_bool_tag_with_a_non_boolean_is_rg101() -> None:
    report = validate_string(GRAPH + "---\n" + agent("!!bool maybe"), import_entrypoints=False)
    assert issues(report) == [("RG101", "'maybe' is not a valid bool", 8)]


def test_lone_surrogates_are_refused_in_yaml_and_in_strings() -> None:
    report = validate_string(GRAPH + "---\n" + agent('"\\ud800 hi"'), import_entrypoints=False)
    assert [(i.code, i.line) for i in report.issues] == [("RG101", 8)]  # libyaml refuses the escape
    report = validate_string(GRAPH + "---\n" + agent("\ud800"), import_entrypoints=False)
    assert [i.code for i in report.issues] == ["RG101"]


@pytest.mark.parametrize(("documents", "expected"), [
    ([{1: "a", "kind": "graph", "start": "x"}], [("RG114", "mapping key 1 is not a string", "$")]),
    ([{"kind": "agent", "name": b"x"}], [("RG114", "a value of type bytes is not JSON data", "$.name")]),
    ([{"kind": "graph", "start": float("nan")}], [("RG114", "nan is not a JSON number", "$.start")]),
    (5, [("RG114", "documents must be a list, got int", "$")]),
])
def test_validate_dict_refuses_data_that_is_not_json(documents, expected) -> None:
    report = validate_dict(documents)
    assert [(i.code, i.message, i.path) for i in report.issues] == expected
    assert all(i.file == "<dict>" for i in report.issues)


def test_validate_dict_bounds_depth_cycles_and_shared_data() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    cyclic: dict[str, object] = {"kind": "graph"}
    cyclic["self"] = cyclic
    shared: object = "x"
    for _ in range(40):
        shared = [shared, shared]
    assert [i.code for i in validate_dict([{"kind": "graph", "start": deep}]).issues] == ["RG108"]
    assert [(i.code, i.path) for i in validate_dict([cyclic]).issues] == [("RG114", "$.self")]
    started = time.perf_counter()
    assert [i.code for i in validate_dict([{"kind": "graph", "start": shared}]).issues] == ["RG103"]
    assert time.perf_counter() - started < 5  # not 2**40 values


def test_mixed_key_types_in_nested_data_do_not_break_the_version_hash() -> None:
    report = validate_dict([{"kind": "graph", "start": "main", "model_settings": {"prompt": {True: 1, "a": 2}}},
                            {"kind": "agent", "name": "main"}])
    assert [(i.code, i.path) for i in report.issues] == [("RG114", "$.model_settings.prompt")]


def test_literal_defaults_in_secret_positions_are_rg503() -> None:
    report = validate_string(
        'kind: graph\nstart: main\ntransport:\n  api_key: "${UNSET:-sk-literal}"\n'
        '  headers: {api-key: "${UNSET_TOO:-sk-literal}", x-trace: "${TRACE:-on}"}\n---\n' + agent("Hi"),
        import_entrypoints=False, environ={})
    assert issues(report) == [
        ("RG503", "transport.api_key must not have a literal `:-default` (a literal key)", 4),
        ("RG503", "header 'api-key' looks like a credential and must not have a literal `:-default`", 5),
    ]
    assert "sk-literal" not in render_issues(report.issues)


def test_a_variable_defaulting_to_a_credential_is_marked_secret() -> None:
    graph = load_string(
        'kind: graph\nstart: main\nvariables:\n  key: {default: "${OPENAI_API_KEY}"}\n'
        '  nested: {default: "${NAME:-${DB_PASSWORD}}"}\n  company: {default: "${COMPANY:-Acme}"}\n---\n'
        + agent("Hi"), import_entrypoints=False, environ={"OPENAI_API_KEY": "sk", "DB_PASSWORD": "pw"})
    assert {n: v.secret for n, v in graph.variables.items()} == {"key": True, "nested": True, "company": False}


@pytest.mark.parametrize(("url", "shown"), [
    ("wss://user:pw@api.example.com/v1?api_key=sk-1&model=gpt", "wss://***@api.example.com/v1?api_key=***&model=***"),
    ("api.openai.com/v1/realtime?api_key=sk-abc", "api.openai.com/v1/realtime?api_key=***"),
    ("user:pass@host:80/x", "***@host:80/x"),
    ("http://h/?sk-123#part", "http://h/?***#part"),
    ("wss://api.openai.com/v1/realtime", "wss://api.openai.com/v1/realtime"),
    ("ws://[::1", "ws://[::1"),
])
def test_redact_url_hides_userinfo_and_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_huge_and_odd_durations() -> None:
    assert parse_duration("1.5s") == 1.5 and parse_duration(2) == 2.0
    for value in (10**400, "9" * 401 + "s", 1e400, -1, True, 86_401):
        with pytest.raises(ValueError):
            parse_duration(value)


def _tool_folder(tmp_path: Path, module: str) -> Path:
    name = f"misbehaving_{abs(hash(module)) % 10**8}"
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: main\n")
    (tmp_path / "main.yaml").write_text(f"kind: agent\nname: main\ntools:\n  - entrypoint: {name}:get_weather\n")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(module))
    return tmp_path


@pytest.mark.parametrize(("module", "code", "message"), [
    ("import enum\nclass City(enum.Enum):\n    A = b'paris'\ndef get_weather(city: City) -> str:\n    return ''\n",
     "RG307", "unsupported type hint for parameter 'city': City (value of type bytes is not JSON)"),
    ("def __getattr__(name):\n    raise ValueError('no ' + name)\n",
     "RG303", "failed: ValueError: no get_weather"),
    ("class E(Exception):\n    def __str__(self):\n        raise ValueError\nraise E()\n",
     "RG302", "failed: E"),
])
def test_tool_modules_that_misbehave(tmp_path: Path, module: str, code: str, message: str) -> None:
    report = validate(_tool_folder(tmp_path, module), environ={})
    assert [i.code for i in report.issues] == [code]
    assert message in report.issues[0].message


def _template(instructions: str):
    graph = load_string(GRAPH + "---\n" + agent(instructions), import_entrypoints=False)
    return graph.agent("main").instructions


def test_render_budget_stops_loops_huge_values_and_output() -> None:
    assert render_instructions(_template("Hi {{ company }}"), {"company": "Acme"}) == "Hi Acme"
    assert render_instructions(_template("plain"), {}) == "plain"
    slow = _template('"{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"')
    started = time.perf_counter()
    with pytest.raises(TemplateRenderError, match=r"took longer than 0.2s"):
        render_instructions(slow, {"company": "Acme"}, max_seconds=0.2)
    assert time.perf_counter() - started < 2
    doubling = _template('"{% set ns = namespace(x=company) %}{% for i in range(60) %}'
                         '{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}"')
    with pytest.raises(TemplateRenderError, match="a namespace value would be larger than 1000000 characters"):
        render_instructions(doubling, {"company": "Acme"})
    for text in ('"{{ company * 10**9 }}"', '"{{ company|center(10**9) }}"', "\"{{ '%999999999s' % company }}\""):
        with pytest.raises(TemplateRenderError, match="would be larger than 1000000 characters"):
            render_instructions(_template(text), {"company": "Acme"})
    long = _template('"{% for i in range(1000) %}{{ company }}{% endfor %}"')
    with pytest.raises(TemplateRenderError, match="longer than 100 characters"):
        render_instructions(long, {"company": "Acme"}, max_chars=100)
    with pytest.raises(TemplateRenderError, match="failed to render"):
        render_instructions(_template("Hi {{ company }}"), {})


class _Shade(enum.Enum):
    DARK = "dark"


def test_plain_enum_values_still_derive() -> None:
    from realtime_graph.config.signature import describe_function

    def paint(shade: _Shade) -> str:
        return shade.value

    assert describe_function(paint).parameters["properties"]["shade"] == {"enum": ["dark"]}


def test_sessions_render_within_the_budget() -> None:
    """``InstructionTemplate.render`` (what every session.update uses) goes through the budget, so
    a template that slipped past validation cannot freeze a live session."""
    slow = _template('"{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"')
    started = time.perf_counter()
    with pytest.raises(TemplateRenderError, match=r"took longer than 0.5s"):
        slow.render({"company": "Acme"})
    assert time.perf_counter() - started < 3
    assert _template("Hi {{ company }}").render({"company": "Acme"}) == "Hi Acme"
