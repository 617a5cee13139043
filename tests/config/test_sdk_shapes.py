"""The SDK's call shapes in our own conventions, without the SDK: guardrail ``(context, agent, output)``,
``needs_approval(context, params, call_id)``, a ``ctx`` first tool parameter, ``Annotated``
descriptions, dataclass / TypedDict parameters, hooks objects and handoff ``input_type``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from realtime_graph.cli.validate import validate as validate_command
from realtime_graph.config import load, render_issues, validate
from realtime_graph.graph.model import CallContext
from tests.support.folders import module_folder

CODE = '''
from dataclasses import dataclass, field
from typing import Annotated, Literal, TypedDict

SEEN = []

@dataclass
class Address:
    street: str
    city: str = "Oslo"

@dataclass
class Order:
    """An order."""
    item: str
    qty: int = 1
    ship_to: Address | None = None
    tags: list[str] = field(default_factory=list)

class Filters(TypedDict, total=False):
    color: str
    size: Literal["S", "M", "L"]

def guard(ctx, agent, output):
    SEEN.append(("guard", ctx.context.get("user"), agent.name, output))
    return "secret" in output

def approve(ctx, params, call_id):
    SEEN.append(("approve", ctx.context.get("user"), params, call_id))
    return params["amount"] > 100

def weather(ctx, city: Annotated[str, "The city"], unit: Annotated[Literal["C", "F"], "Unit"] = "C") -> str:
    """Get the weather.

    Args:
        city: ignored, the annotation describes it
    """
    return f"{ctx.context['user']}: sunny in {city} ({unit})"

def place(order: Order, filters: Filters, context) -> str:
    SEEN.append(("place", order, filters, context.tool_name))
    return order.item

class Hooks:
    def on_agent_start(self, context, agent):
        SEEN.append(("start", context.context.get("user"), agent.name))
    async def on_tool_end(self, context, agent, tool, result):
        SEEN.append(("tool_end", agent.name, tool.name, result))
    def on_handoff(self, context, from_agent, to_agent):
        SEEN.append(("handoff", from_agent.name, to_agent.name))

hooks = Hooks()

class Nothing:
    pass

nothing = Nothing()

class BadHooks:
    def on_tool_start(self, event):
        pass

bad_hooks = BadHooks()

@dataclass
class Escalation:
    reason: str
    priority: int = 1

def escalate(ctx, data):
    SEEN.append(("escalate", ctx.context.get("user"), data))

def one(ctx):
    pass
'''

GRAPH = """\
kind: graph
start: main
hooks: shapes_mod:hooks
output_guardrails: [{entrypoint: 'shapes_mod:guard'}]
"""

MAIN = """\
kind: agent
name: main
instructions: You help.
tools:
  - entrypoint: shapes_mod:weather
  - {entrypoint: shapes_mod:place, needs_approval: 'shapes_mod:approve'}
handoffs:
  - {agent: other, input_type: 'shapes_mod:Escalation', on_handoff: 'shapes_mod:escalate'}
---
kind: agent
name: other
instructions: You help too.
handoffs: [main]
"""


folder = module_folder("shapes_mod", CODE, GRAPH, MAIN)


def call_context(**kw) -> CallContext:
    return CallContext(agent="main", graph_version="v", context={"user": "ada"}, **kw)


def test_sdk_shapes_validate_and_verbose_names_each_convention(folder, monkeypatch) -> None:
    path = folder()
    monkeypatch.chdir(path)
    result = CliRunner().invoke(validate_command, [".", "--verbose"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "0 errors, 0 warnings"
    assert lines[1:-1] == [
        "graph.yaml:3:8: graph hooks.on_agent_start: shapes_mod:hooks.on_agent_start as on_agent_start(context, agent) (SDK)",
        "graph.yaml:3:8: graph hooks.on_tool_end: shapes_mod:hooks.on_tool_end as on_tool_end(context, agent, tool, result) (SDK)",
        "graph.yaml:3:8: graph hooks.on_handoff: shapes_mod:hooks.on_handoff as on_handoff(context, from_agent, to_agent) (SDK)",
        "graph.yaml:4:34: graph guardrail shapes_mod:guard: shapes_mod:guard as fn(context, agent, output) (SDK)",
        "main.yaml:5:17: main tool weather: shapes_mod:weather as fn(**arguments) with 'ctx' = the call context",
        "main.yaml:6:18: main tool place: shapes_mod:place as fn(**arguments) with 'context' = the call context",
        "main.yaml:6:52: main tool place needs_approval: shapes_mod:approve as fn(context, params, call_id) -> bool (SDK)",
        "main.yaml:8:69: main handoff transfer_to_other on_handoff: shapes_mod:escalate as fn(context, input: Escalation)",
    ]
    assert lines[-1].startswith(".: valid graph ")


def test_annotated_descriptions_and_a_ctx_parameter_hidden_from_the_model(folder) -> None:
    tool = load(folder()).agent("main").tools[0]
    assert tool.description == "Get the weather."
    assert tool.to_wire()["parameters"] == {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city"},
                       "unit": {"enum": ["C", "F"], "type": "string", "description": "Unit"}},
        "required": ["city"], "additionalProperties": False}
    assert tool.takes_context
    # the runtime's convention: keyword arguments plus context=; the adapter hands it to `ctx`
    assert tool.entrypoint.resolve()(city="Paris", context=call_context()) == "ada: sunny in Paris (C)"


def test_dataclass_and_typeddict_parameters_get_schemas_and_are_converted(folder) -> None:
    graph = load(folder())
    tool = graph.agent("main").tools[1]
    address = {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
               "required": ["street"], "additionalProperties": False}
    assert tool.to_wire()["parameters"] == {
        "type": "object",
        "properties": {
            "order": {"type": "object",
                      "properties": {"item": {"type": "string"}, "qty": {"type": "integer"},
                                     "ship_to": {**address, "type": ["object", "null"]},
                                     "tags": {"type": "array", "items": {"type": "string"}}},
                      "required": ["item"], "additionalProperties": False},
            "filters": {"type": "object",
                        "properties": {"color": {"type": "string"}, "size": {"enum": ["S", "M", "L"], "type": "string"}},
                        "required": [], "additionalProperties": False},
        },
        "required": ["order", "filters"], "additionalProperties": False}
    mod = sys.modules["shapes_mod"]
    out = tool.entrypoint.resolve()(order={"item": "tea", "ship_to": {"street": "Main 1"}}, filters={"size": "M"},
                                    context=call_context(tool_name="place"))
    assert out == "tea"
    seen = mod.SEEN
    assert seen == [("place", mod.Order("tea", 1, mod.Address("Main 1", "Oslo"), []), {"size": "M"}, "place")]


def test_sdk_shaped_guardrail_and_approval_are_called_with_context_first(folder) -> None:
    graph = load(folder())
    mod = sys.modules["shapes_mod"]
    guard = graph.output_guardrails[0].entrypoint.resolve()
    approve = graph.agent("main").tools[1].needs_approval.resolve()
    assert guard("the secret is", call_context()) is True
    assert approve({"amount": 150}, call_context(call_id="c1")) is True
    seen = mod.SEEN
    assert seen == [("guard", "ada", "main", "the secret is"), ("approve", "ada", {"amount": 150}, "c1")]


def test_handoff_input_type_is_the_tool_schema_and_on_handoff_gets_the_parsed_input(folder) -> None:
    graph = load(folder())
    handoff = graph.agent("main").handoffs[0]
    assert handoff.to_wire() == {
        "type": "function", "name": "transfer_to_other",
        "description": "Handoff to the other agent to handle the request.",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}, "priority": {"type": "integer"}},
                       "required": ["reason"], "additionalProperties": False}}
    mod = sys.modules["shapes_mod"]
    handoff.on_handoff.resolve()(call_context(), {"reason": "angry"})
    seen = mod.SEEN
    assert seen == [("escalate", "ada", mod.Escalation("angry", 1))]
    with pytest.raises(TypeError):  # a required field missing: raising means no handoff
        handoff.on_handoff.resolve()(call_context(), {"priority": 2})


def test_hooks_object_methods_become_hooks_that_take_the_context(folder) -> None:
    hooks = load(folder()).hooks
    assert hooks.on_agent_start.takes_context and hooks.on_handoff.takes_context
    assert hooks.on_tool_start is None and hooks.on_agent_end is None
    assert hooks.on_tool_end.is_async


def _rendered(path: Path, monkeypatch) -> str:
    monkeypatch.chdir(path.parent)
    return render_issues(validate(path.name).issues)


def test_input_type_errors_are_located(folder, monkeypatch) -> None:
    main = MAIN.replace("on_handoff: 'shapes_mod:escalate'", "on_handoff: 'shapes_mod:one'")
    path = folder(main=main)
    name = path.name
    assert _rendered(path, monkeypatch) == (
        f"{name}/main.yaml:8:69: error RG305: on_handoff (with input_type) entrypoint 'shapes_mod:one' must be "
        "callable as fn(context, input); its signature is (ctx)\n"
        "  hint: accepted signatures: fn(context, input)\n"
        "1 error, 0 warnings")
    sys.modules.pop("shapes_mod", None)
    main = MAIN.replace(", on_handoff: 'shapes_mod:escalate'", "")
    path = folder(main=main)
    assert _rendered(path, monkeypatch) == (
        f"{name}/main.yaml:8:32: error RG310: a handoff with `input_type` needs `on_handoff` to receive the input\n"
        "  hint: add on_handoff: module:function taking (context, input)\n"
        "1 error, 0 warnings")


def test_hooks_object_errors(folder, monkeypatch) -> None:
    path = folder(graph=GRAPH.replace("shapes_mod:hooks", "shapes_mod:nothing"))
    assert _rendered(path, monkeypatch) == (
        f"{path.name}/graph.yaml:3:8: error RG304: 'shapes_mod:nothing' defines no hook methods: it is of type Nothing\n"
        "  hint: define on_agent_start, on_agent_end, on_tool_start, on_tool_end or on_handoff (RunHooks), "
        "or on_start, on_end, ... (AgentHooks); or write hooks as a mapping\n"
        "1 error, 0 warnings")
    sys.modules.pop("shapes_mod", None)
    path = folder(graph=GRAPH.replace("shapes_mod:hooks", "shapes_mod:bad_hooks"))
    assert _rendered(path, monkeypatch) == (
        f"{path.name}/graph.yaml:3:8: error RG305: hooks object 'shapes_mod:bad_hooks': method on_tool_start must be "
        "callable as on_tool_start(context, agent, tool); its signature is (event)\n"
        "  hint: hooks objects use the SDK's method signatures (context first)\n"
        "1 error, 0 warnings")


def test_rg305_hint_lists_every_accepted_signature(folder, monkeypatch) -> None:
    path = folder(graph=GRAPH.replace("shapes_mod:guard", "shapes_mod:one"))
    assert _rendered(path, monkeypatch) == (
        f"{path.name}/graph.yaml:4:34: error RG305: guardrail entrypoint 'shapes_mod:one' must be callable as "
        "fn(text, context); its signature is (ctx)\n"
        "  hint: accepted signatures: fn(text, context) or fn(context, agent, output) (SDK)\n"
        "1 error, 0 warnings")


def test_mapping_hooks_accept_the_sdk_signature_too(folder) -> None:
    graph = GRAPH.replace("hooks: shapes_mod:hooks", "hooks: {on_handoff: 'shapes_mod:approve', on_tool_end: 'shapes_mod:one'}")
    hooks = load(folder(graph=graph)).hooks
    assert hooks.on_handoff.convention == "fn(context, from_agent, to_agent) (SDK)" and hooks.on_handoff.takes_context
    assert hooks.on_tool_end.convention == "fn(event)" and not hooks.on_tool_end.takes_context


def test_loading_sdk_shapes_never_imports_the_sdk(folder) -> None:
    path = folder()
    script = textwrap.dedent(f"""
        import sys
        from realtime_graph.config import load
        load({str(path)!r})
        print(sorted(m for m in sys.modules if m == "agents" or m.startswith("agents.") or m == "pydantic"))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"



PYDANTIC_CODE = '''
from pydantic import BaseModel, Field

class Item(BaseModel):
    name: str = Field(description="The item")
    qty: int = 1

class Cart(BaseModel):
    items: list[Item]

def checkout(cart: Cart, note: str = "") -> dict:
    return {"type": type(cart).__name__, "first": type(cart.items[0]).__name__, "qty": cart.items[0].qty}
'''


def test_pydantic_model_parameters_use_pydantics_schema_and_receive_models(tmp_path: Path) -> None:
    pydantic = pytest.importorskip("pydantic")
    (tmp_path / "cart_mod.py").write_text(PYDANTIC_CODE, encoding="utf-8")
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: a\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("kind: agent\nname: a\ntools: [{entrypoint: 'cart_mod:checkout'}]\n",
                                     encoding="utf-8")
    try:
        tool = load(tmp_path).agent("a").tools[0]
        mod = sys.modules["cart_mod"]
        cart_schema = pydantic.TypeAdapter(mod.Cart).json_schema()
        defs = cart_schema.pop("$defs")
        assert tool.to_wire()["parameters"] == {
            "type": "object", "properties": {"cart": cart_schema, "note": {"type": "string"}},
            "required": ["cart"], "additionalProperties": False, "$defs": defs}
        assert defs["Item"]["properties"]["name"]["description"] == "The item"
        assert tool.entrypoint.resolve()(cart={"items": [{"name": "tea", "qty": 3}]}) == \
            {"type": "Cart", "first": "Item", "qty": 3}
    finally:
        sys.modules.pop("cart_mod", None)


def test_a_first_parameter_annotated_as_an_sdk_context_is_the_context_even_unresolved() -> None:
    from realtime_graph.config.signature import describe_function

    namespace: dict = {}
    exec(textwrap.dedent('''
        from __future__ import annotations

        def lookup(wrapper: RunContextWrapper[dict], q: str) -> str:
            return f"{wrapper.context['user']}: {q}"

        def search(tc: agents.tool_context.ToolContext, q: str) -> str:
            return q

        def plain(q: str, wrapper: RunContextWrapper) -> str:
            return q
    '''), namespace)
    found = describe_function(namespace["lookup"])
    assert (found.context_param, found.parameters["properties"]) == ("wrapper", {"q": {"type": "string"}})
    assert describe_function(namespace["search"]).context_param == "tc"
    # only the first parameter can be the context (the SDK's rule); a later one is a model argument
    with pytest.raises(Exception, match="parameter 'wrapper'"):
        describe_function(namespace["plain"])


def test_adapters_keep_the_user_module_watched_by_hot_reload(folder) -> None:
    from realtime_graph.reload import user_module_files

    path = folder()
    assert user_module_files(load(path)) == frozenset({(path / "shapes_mod.py").resolve()})


def test_no_import_mode_checks_hooks_objects_and_input_types_by_name(folder, monkeypatch) -> None:
    path = folder(graph=GRAPH.replace("shapes_mod:hooks", "shapes_mod:hookz"))
    monkeypatch.chdir(path.parent)
    report = validate(path.name, import_entrypoints=False)
    assert [(i.code, i.message, i.hint) for i in report.issues] == [
        ("RG303", "'shapes_mod' has no attribute 'hookz'", "did you mean shapes_mod:hooks?")]
    assert "shapes_mod" not in sys.modules
    graph = load(folder(), import_entrypoints=False)
    assert graph.agent("main").handoffs[0].parameters == {"type": "object", "properties": {},
                                                          "additionalProperties": True}
