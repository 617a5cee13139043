"""Unit tests of the loader's parts: signatures, templates, env refs, reports, schemas, Mermaid."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from typing import Literal

import pytest

from realtime_graph.config import load_dict, render_issues, validate_string
from realtime_graph.config.signature import UnsupportedHint, check_declared, describe_function
from realtime_graph.errors import Issue, Severity
from realtime_graph.graph.mermaid import to_mermaid

SCHEMAS = Path(__file__).parents[2] / "schemas"


def check(text: str, **kw):
    return validate_string(textwrap.dedent(text), filename="t.yaml", environ={}, **kw)


# -- signatures ---------------------------------------------------------------------------------
def test_docstring_without_args_section_and_no_hints() -> None:
    def tool(a, b=2):
        """Do a thing.
        Second line of the same paragraph.

        More detail.
        """

    sig = describe_function(tool)
    assert sig.description == "Do a thing. Second line of the same paragraph."
    assert sig.parameters == {"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a"],
                              "additionalProperties": False}


def test_unsupported_hint_names_the_parameter() -> None:
    def tool(when: complex) -> None: ...

    with pytest.raises(UnsupportedHint, match="parameter 'when': complex"):
        describe_function(tool)


def test_declared_parameters_must_be_required_when_the_function_requires_them() -> None:
    def tool(city: str, unit: Literal["c", "f"] = "c") -> str: ...

    signature = inspect.signature(tool)
    assert check_declared(signature, {"type": "object", "properties": {"city": {}, "unit": {}}, "required": ["city"]}) == []
    assert check_declared(signature, {"type": "object", "properties": {"city": {}}}) == [
        ("city", "'city' has no default in the function but is not in `required`")]


# -- templates ----------------------------------------------------------------------------------
def test_template_error_in_plain_scalar_is_located_on_its_line() -> None:
    report = check("""\
        kind: graph
        start: a
        ---
        kind: agent
        name: a
        instructions: "Hello {{ name"
        """)
    (issue,) = report.errors
    assert (issue.code, issue.file, issue.line, issue.column, issue.path) == ("RG401", "t.yaml", 6, 15, "$.instructions")


def test_unknown_filter_is_a_template_error() -> None:
    report = check("kind: graph\nstart: a\nvariables: {x: {}}\n---\nkind: agent\nname: a\ninstructions: |\n  a\n  {{ x | nope }}\n")
    (issue,) = report.errors
    assert (issue.code, issue.line, issue.column) == ("RG401", 9, 3)
    assert "nope" in issue.message


def test_template_loops_and_globals_are_not_undeclared() -> None:
    report = check("""\
        kind: graph
        start: a
        variables: {items: {}}
        ---
        kind: agent
        name: a
        instructions: "{% for i in items %}{{ loop.index }} {{ i }}{% endfor %}{% for n in range(2) %}{% endfor %}"
        """)
    assert report.ok and report.graph.agent("a").instructions.render({"items": ["x"]}) == "1 x"


# -- env references -----------------------------------------------------------------------------
def test_env_reference_with_default_is_not_a_warning_and_reveals() -> None:
    report = check("kind: graph\nstart: a\nvariables: {v: {default: '${UNSET_X:-fallback}'}}\n---\n{kind: agent, name: a}\n")
    assert report.issues == () and report.graph.variable_values({}) == {"v": "fallback"}


# -- rendering ----------------------------------------------------------------------------------
def test_github_format_escapes_and_handles_missing_locations() -> None:
    issues = [Issue("RG201", "no graph, 100%", file="a,b:c"), Issue("RG207", "w", Severity.WARNING)]
    assert render_issues(issues, "github").splitlines() == [
        "::warning title=RG207::w",
        "::error file=a%2Cb%3Ac,title=RG201::no graph, 100%25",
        "1 error, 1 warning",
    ]


def test_text_and_json_formats() -> None:
    issue = Issue("RG110", "expected list, got string", file="x.yaml", line=3, column=8, path="$.tools", hint="Function tools.")
    assert render_issues([issue]) == "x.yaml:3:8: error RG110: expected list, got string\n  hint: Function tools.\n1 error, 0 warnings"
    assert json.loads(render_issues([issue], "json"))["issues"][0]["path"] == "$.tools"
    with pytest.raises(ValueError):
        render_issues([issue], "xml")  # type: ignore[arg-type]


# -- schemas ------------------------------------------------------------------------------------
def _walk(node, path="#"):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_schema_contract_every_property_described_and_closed() -> None:
    root = json.loads((SCHEMAS / "rtgraph.schema.json").read_text())
    for path, node in _walk(root):
        for name, prop in node.get("properties", {}).items() if not path.endswith("/properties") else ():
            assert "description" in prop, f"{path}/properties/{name} has no description"
        if "properties" in node and not path.endswith(("/properties", "/if")):  # `if` is a condition
            assert "additionalProperties" in node or "unevaluatedProperties" in node, f"{path} is open"
    for kind in ("agent", "graph"):
        wrapper = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
        assert wrapper["$ref"] == f"rtgraph.schema.json#/$defs/{kind}"


def test_combined_schema_validates_the_example() -> None:
    import jsonschema
    import yaml

    root = json.loads((SCHEMAS / "rtgraph.schema.json").read_text())
    for file in sorted((SCHEMAS.parent / "agents.d").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(file.read_text()), root)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kind": "agent", "name": "a", "toolz": []}, root)


# -- mermaid ------------------------------------------------------------------------------------
def test_mermaid_marks_start_escapes_quotes_and_dots_disabled_handoffs() -> None:
    graph = load_dict([
        {"kind": "graph", "start": 'Front "Desk"'},
        {"kind": "agent", "name": 'Front "Desk"', "handoffs": [{"agent": "b", "enabled": False}]},
        {"kind": "agent", "name": "b"},
    ], environ={})
    assert to_mermaid(graph) == (
        "flowchart LR\n"
        '    a0["Front #quot;Desk#quot; (start)"]:::start\n'
        '    a1["b"]\n'
        '    a0 -. "transfer_to_b" .-> a1\n'
        "    classDef start stroke-width:3px\n"
    )


def test_positional_only_tool_parameters_are_a_convention_error(tmp_path: Path) -> None:
    from realtime_graph.config import validate

    (tmp_path / "posonly_tools.py").write_text("def add(a: int, /, b: int = 1) -> int:\n    return a + b\n")
    (tmp_path / "g.yaml").write_text("kind: graph\nstart: a\n---\nkind: agent\nname: a\ntools:\n  - entrypoint: posonly_tools:add\n")
    (issue,) = validate(tmp_path).errors
    assert (issue.code, issue.line, issue.column) == ("RG305", 7, 17)
    assert issue.message == "tool entrypoint 'posonly_tools:add' is called with keyword arguments; positional-only parameter 'a' cannot receive one"


def test_schema_messages_point_at_bad_names_and_values() -> None:
    report = check("""\
        kind: graph
        start: a
        variables: {1abc: {}}
        model_settings: {tool_choice: sometimes}
        ---
        {kind: agent, name: a}
        """)
    assert [(i.code, i.line, i.column, i.path, i.message) for i in report.issues] == [
        ("RG110", 3, 13, "$.variables['1abc']", "'1abc' is not a valid name"),
        ("RG110", 4, 31, "$.model_settings.tool_choice", "'sometimes' has an invalid format"),
    ]
