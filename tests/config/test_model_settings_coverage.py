"""Every field of the GA session object (the ``openai`` package's types) is declarable in
``model_settings``: this walks ``RealtimeSessionCreateRequestParam`` recursively together with
the JSON Schema and fails on a field the schema does not declare, a literal value it refuses, or
a plain value of the field's type it refuses. A new field in a new ``openai`` release fails here.
"""

from __future__ import annotations

import collections.abc
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typing_extensions
from jsonschema import Draft202012Validator
from openai.types.realtime.realtime_function_tool_param import RealtimeFunctionToolParam
from openai.types.realtime.realtime_session_create_request_param import RealtimeSessionCreateRequestParam

ROOT = json.loads((Path(__file__).parents[2] / "schemas" / "rtgraph.schema.json").read_text())

# fields that are not model_settings by design, and where they are declared instead
NOT_SETTINGS = {
    ("type",): "always `realtime`, set by the session",
    ("instructions",): "the agent's `instructions`",
}
RENAMED = {("model",): ("model_name",)}
PER_SESSION_ONLY = {  # the agent-level schema leaves these out: they cannot change per agent
    ("model",): "fixed by the connect URL",
    ("tracing",): "cannot change once set",
    ("audio", "input", "format"): "locked for the session",
    ("audio", "output", "format"): "locked for the session",
}
DECLARED_ELSEWHERE = {RealtimeFunctionToolParam: "function tools are the agent's `tools` (entrypoints)"}
SAMPLES: dict[Any, Any] = {str: "x", int: 1, float: 0.5, bool: True}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rpartition("/")[2]
        node = ROOT["$defs"][name]
    return node


def _accepts(node: dict[str, Any], value: Any) -> bool:
    return Draft202012Validator({"$defs": ROOT["$defs"], **node}).is_valid(value)


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) in (typing.Annotated, typing_extensions.Required, typing_extensions.NotRequired):
        tp = typing.get_args(tp)[0]
    return tp


def walk(tp: Any, node: dict[str, Any], path: tuple[str, ...], skip: dict[tuple[str, ...], str],
         problems: list[str], seen: list[str]) -> None:
    tp = _strip(tp)
    node = _resolve(node)
    origin = typing.get_origin(tp)
    where = ".".join(path) or "(session)"
    if tp in DECLARED_ELSEWHERE:
        return
    if typing_extensions.is_typeddict(tp):
        properties = node.get("properties", {})
        for key, hint in typing_extensions.get_type_hints(tp, include_extras=True).items():
            field = (*path, key)
            if field in skip:
                continue
            name = RENAMED.get(field, field)[-1]
            seen.append(".".join(field))
            if name not in properties:
                problems.append(f"{'.'.join(field)} is not declarable (no `{name}` under {where})")
                continue
            walk(hint, properties[name], field, skip, problems, seen)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                walk(arg, node, path, skip, problems, seen)
    elif origin is typing.Literal:
        for value in typing.get_args(tp):
            if not _accepts(node, value):
                problems.append(f"{where}: the schema refuses {value!r}")
    elif origin is dict or tp is dict:
        if not _accepts(node, {}):
            problems.append(f"{where}: the schema refuses a mapping")
    elif origin in (list, collections.abc.Sequence) or getattr(origin, "__name__", "") == "SequenceNotStr":
        if "items" not in node:
            problems.append(f"{where}: the schema declares no list items")
        else:
            walk(typing.get_args(tp)[0], node["items"], (*path, "[]"), skip, problems, seen)
    elif tp in SAMPLES and not {"pattern", "enum", "const"} & node.keys() and not _accepts(node, SAMPLES[tp]):
        problems.append(f"{where}: the schema refuses a plain {tp.__name__} ({SAMPLES[tp]!r})")


@pytest.mark.parametrize(("definition", "skip"), [
    ("model_settings", NOT_SETTINGS),
    ("agent_model_settings", {**NOT_SETTINGS, **PER_SESSION_ONLY}),
])
def test_every_ga_session_field_is_declarable(definition: str, skip: dict[tuple[str, ...], str]) -> None:
    problems: list[str] = []
    seen: list[str] = []
    walk(RealtimeSessionCreateRequestParam, ROOT["$defs"][definition], (), skip, problems, seen)
    assert problems == []
    # the walk really went deep: nested audio, turn detection, MCP tool and truncation fields
    for field in ("max_output_tokens", "audio.input.noise_reduction.strength",
                  "audio.input.turn_detection.idle_timeout_ms", "audio.input.transcription.keywords",
                  "tools.[].headers", "tools.[].require_approval.always.read_only", "truncation.token_limits",
                  "reasoning.effort", "include", "output_modalities", "audio.output.speed"):
        assert field in seen, field


def test_the_walk_fails_on_an_undeclared_field() -> None:
    class Session(typing.TypedDict, total=False):
        max_output_tokens: int | typing.Literal["inf"]
        brand_new_field: bool

    class Reasoning(typing.TypedDict, total=False):
        effort: typing.Literal["low", "galactic"]

    problems: list[str] = []
    walk(Session, ROOT["$defs"]["model_settings"], (), {}, problems, [])
    walk(Reasoning, ROOT["$defs"]["reasoning"], ("reasoning",), {}, problems, [])
    assert problems == ["brand_new_field is not declarable (no `brand_new_field` under (session))",
                        "reasoning.effort: the schema refuses 'galactic'"]
