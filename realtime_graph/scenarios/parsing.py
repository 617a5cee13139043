"""Scenario files → :class:`ScenarioSpec`, with every problem located at ``file:line:col``.

YAML is read with config's location-keeping reader (``config.yamlsource``), checked against
``schemas/scenario.schema.json`` (unknown keys rejected, with a did-you-mean), then against the
graph under test (:func:`check_against_graph`: agents, tools and mocks must exist).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

from ..config.issues import IssueSink, closest
from ..config.yamlsource import Document, JsonPath, parse_definition
from ..errors import ConfigError, Issue
from ..graph.model import Graph, SourceLocation
from .spec import Expectation, ExpectKind, ModelAction, ScenarioSpec, SendAfter, ToolMock, TurnSpec

__all__ = ("EXPECT_KINDS", "SCENARIO_SUFFIXES", "check_against_graph", "load_scenarios", "parse_scenarios",
           "scenario_files", "scenario_schema")

SCENARIO_SUFFIXES = (".yaml", ".yml")
EXPECT_KINDS = ("tool_called", "handoff", "agent", "transcript", "guardrail_tripped", "approval_requested",
                "interruption", "error")
_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "scenario.schema.json"
_TYPE_NAMES = {dict: "mapping", list: "list", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


@cache
def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario documents (``schemas/scenario.schema.json``)."""
    loaded: dict[str, Any] = json.loads(_SCHEMA.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(scenario_schema())


def scenario_files(paths: Iterable[str | os.PathLike[str]], sink: IssueSink) -> list[Path]:
    """The scenario files named by ``paths`` (files, or folders searched recursively), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            sink.add("SC100", "no such file or folder", file=str(path), line=None, column=None,
                     hint="give scenario files or folders (default: tests/scenarios)")
    return found


def _where(doc: Document, path: JsonPath) -> SourceLocation | None:
    return doc.source_location(path)


def _schema_issue(error: Any, doc: Document, sink: IssueSink) -> None:
    path: JsonPath = tuple(error.absolute_path)
    validator = error.validator
    if error.context:  # oneOf: report the branch that got furthest
        from jsonschema.exceptions import best_match

        error = best_match(error.context)
        path, validator = tuple(error.absolute_path), error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key not in known:
                near = closest(key, known)
                hint = f"did you mean {near!r}?" if near else f"valid keys: {', '.join(known)}"
                sink.add("SC111", f"unknown key {key!r}", doc, (*path, key), key=True, hint=hint)
        return
    if validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                sink.add("SC112", f"missing required key {key!r}", doc, path)
        return
    if validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        got = _TYPE_NAMES.get(type(error.instance), type(error.instance).__name__)
        sink.add("SC110", f"expected {wanted.replace('object', 'mapping').replace('array', 'list')}, got {got}",
                 doc, path, hint=error.schema.get("description"))
        return
    if validator in ("enum", "const"):
        options = error.validator_value if validator == "enum" else [error.validator_value]
        near = closest(error.instance, [str(o) for o in options]) if isinstance(error.instance, str) else None
        sink.add("SC110", f"must be one of {', '.join(map(str, options))}, got {error.instance!r}", doc, path,
                 hint=f"did you mean {near!r}?" if near else None)
        return
    if validator in ("minProperties", "maxProperties") and path and path[-2:-1] == ("model",):
        sink.add("SC110", "an action has exactly one key: say, call, handoff or fail", doc, path)
        return
    messages = {"minItems": "must not be empty", "minLength": "must not be empty",
                "pattern": f"{error.instance!r} has an invalid format",
                "minimum": f"must be >= {error.validator_value}"}
    sink.add("SC110", messages.get(validator, error.message), doc, path, hint=error.schema.get("description"))


def _expectation(entry: dict[str, Any], doc: Document, path: JsonPath, sink: IssueSink) -> Expectation | None:
    kinds = [k for k in entry if k in EXPECT_KINDS]
    if len(kinds) != 1:
        sink.add("SC113", f"an expectation names exactly one of {', '.join(EXPECT_KINDS)}; got "
                 f"{', '.join(kinds) or 'none'}", doc, path, hint="write each expectation as its own list item")
        return None
    kind = kinds[0]
    value = entry[kind]
    params: dict[str, Any]
    if kind == "tool_called":
        params = {"name": value} if isinstance(value, str) else dict(value)
    elif kind == "handoff":
        params = {"to": value} if isinstance(value, str) else dict(value)
    elif kind == "agent":
        params = {"name": value}
    elif kind == "transcript":
        params = {"contains": value} if isinstance(value, str) else dict(value)
        if "matches" in params:
            import re

            try:
                re.compile(params["matches"])
            except re.error as exc:
                sink.add("SC110", f"bad regular expression: {exc}", doc, (*path, kind, "matches"))
                return None
    elif kind == "guardrail_tripped":
        params = {} if value is True else {"name": value}
    elif kind == "approval_requested":
        params = {"tool": value} if isinstance(value, str) else dict(value)
    else:  # interruption, error
        params = {} if value is True else dict(value)
    return Expectation(kind=cast(ExpectKind, kind), params=params, absent=bool(entry.get("absent", False)),
                       within_ms=entry.get("within_ms"), location=_where(doc, path))


def _action(entry: dict[str, Any], doc: Document, path: JsonPath) -> ModelAction:
    kind, value = next(iter(entry.items()))
    where = _where(doc, (*path, kind))
    if kind == "say":
        return ModelAction("say", text=value, location=where)
    if kind == "call":
        return ModelAction("call", tool=value["tool"], arguments=value.get("arguments", {}), location=where)
    if kind == "handoff":
        return ModelAction("handoff", agent=value, location=where)
    return ModelAction("fail", code=value["code"], text=value.get("message", value["code"]), location=where)


def _turn(index: int, data: dict[str, Any], doc: Document, path: JsonPath, sink: IssueSink) -> TurnSpec | None:
    inputs = [k for k in ("user", "audio", "dtmf") if k in data]
    if len(inputs) > 1:
        sink.add("SC114", f"a turn has at most one input; got {', '.join(inputs)}", doc, path,
                 hint="split it into two turns")
        return None
    if "transcript" in data and "audio" not in data:
        sink.add("SC114", "'transcript' goes with 'audio'", doc, (*path, "transcript"), key=True)
        return None
    audio = data.get("audio")
    if audio is not None:
        resolved = Path(doc.file).parent / audio
        if not resolved.is_file():
            sink.add("SC115", f"audio file {audio!r} not found", doc, (*path, "audio"),
                     hint=f"the path is relative to the scenario file ({resolved})")
            return None
        audio = str(resolved)
    expectations = []
    for i, entry in enumerate(data.get("expect", [])):
        expectation = _expectation(entry, doc, (*path, "expect", i), sink)
        if expectation is not None:
            expectations.append(expectation)
    send_after = data.get("send_after")
    return TurnSpec(
        index=index, text=data.get("user"), audio=audio, transcript=data.get("transcript"), dtmf=data.get("dtmf"),
        interrupt=bool(data.get("interrupt", False)),
        send_after=SendAfter(send_after["event"], send_after.get("delay_ms", 0)) if send_after else None,
        model=tuple(_action(a, doc, (*path, "model", i)) for i, a in enumerate(data.get("model", []))),
        expect=tuple(expectations), in_order=bool(data.get("in_order", False)),
        approvals=dict(data.get("approvals", {})), timeout_ms=data.get("timeout_ms"), location=_where(doc, path),
    )


def _scenario(doc: Document, sink: IssueSink) -> ScenarioSpec | None:
    data = doc.data
    if not isinstance(data, dict) or data.get("kind") != "scenario":
        got = data.get("kind") if isinstance(data, dict) else None
        sink.add("SC113", f"expected a `kind: scenario` document, got {'kind ' + repr(got) if got else 'none'}",
                 doc, ("kind",) if isinstance(data, dict) and "kind" in data else (),
                 hint="scenario files hold only `kind: scenario` documents; definitions stay in agents.d/")
        return None
    mark = len(sink.issues)
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        _schema_issue(error, doc, sink)
    if sink.has_errors_since(mark):
        return None
    mocks = {name: ToolMock(tool=name, returns=m.get("returns"), raises=m.get("raises"),
                            delay_ms=m.get("delay_ms", 0), location=_where(doc, ("mocks", name)))
             for name, m in data.get("mocks", {}).items()}
    turns = [_turn(i, t, doc, ("turns", i), sink) for i, t in enumerate(data["turns"])]
    if sink.has_errors_since(mark):
        return None
    graph = data.get("graph")
    return ScenarioSpec(
        name=data["name"], file=doc.file, turns=tuple(t for t in turns if t is not None),
        description=data.get("description", ""), agent=data.get("agent"), context=data.get("context", {}),
        mocks=mocks, approvals=dict(data.get("approvals", {})),
        graph=str(Path(doc.file).parent / graph) if graph else None,
        timeout_ms=data.get("timeout_ms", 30_000), location=_where(doc, ()),
    )


def parse_scenarios(content: bytes, file: str, sink: IssueSink) -> list[ScenarioSpec]:
    """The scenarios of one file's bytes; problems go to ``sink``."""
    specs = [s for doc in parse_definition(content, file, sink) if (s := _scenario(doc, sink)) is not None]
    seen: dict[str, ScenarioSpec] = {}
    for spec in specs:
        if spec.name in seen:
            loc = spec.location
            sink.add("SC116", f"duplicate scenario name {spec.name!r} in this file", file=file,
                     line=loc.line if loc else None, column=loc.column if loc else None)
        seen[spec.name] = spec
    return specs


def load_scenarios(paths: Iterable[str | os.PathLike[str]]) -> list[ScenarioSpec]:
    """Every scenario in ``paths``. :raises ConfigError: with every located problem found."""
    sink = IssueSink()
    specs: list[ScenarioSpec] = []
    for path in scenario_files(paths, sink):
        try:
            content = path.read_bytes()
        except OSError as exc:
            sink.add("SC100", f"cannot read: {exc.strerror}", file=str(path), line=None, column=None)
            continue
        specs += parse_scenarios(content, str(path), sink)
    if sink.has_errors:
        raise ConfigError(sink.issues)
    return specs


def _issue(code: str, message: str, where: SourceLocation | None, file: str, hint: str | None = None) -> Issue:
    return Issue(code=code, message=message, file=where.file if where else file,
                 line=where.line if where else None, column=where.column if where else None, hint=hint)


def _unknown(kind: str, name: str, known: Iterable[str], where: SourceLocation | None, file: str) -> Issue:
    options = sorted(set(known))
    near = closest(name, options)
    hint = f"did you mean {near!r}?" if near else (f"{kind}s: {', '.join(options)}" if options else None)
    return _issue("SC120", f"no {kind} named {name!r} in the graph", where, file, hint)


def check_against_graph(spec: ScenarioSpec, graph: Graph) -> list[Issue]:
    """Names the scenario uses that the graph does not have (agents, tools, guardrails)."""
    agents = graph.agents
    tools = {t.name for a in agents.values() for t in a.tools}
    guardrails = {g.name for g in graph.output_guardrails} | {g.name for a in agents.values()
                                                               for g in a.output_guardrails}
    issues: list[Issue] = []
    if spec.agent is not None and spec.agent not in agents:
        issues.append(_unknown("agent", spec.agent, agents, spec.location, spec.file))
    for mock in spec.mocks.values():
        if mock.tool not in tools:
            issues.append(_unknown("tool", mock.tool, tools, mock.location, spec.file))
    for name in [*spec.approvals, *(n for t in spec.turns for n in t.approvals)]:
        if name not in tools:
            issues.append(_unknown("tool", name, tools, spec.location, spec.file))
    checks: Mapping[str, tuple[str, set[str] | Mapping[str, Any]]] = {
        "tool_called": ("name", tools), "approval_requested": ("tool", tools), "agent": ("name", agents),
        "guardrail_tripped": ("name", guardrails),
    }
    for turn in spec.turns:
        for action in turn.model:
            if action.kind == "handoff" and action.agent not in agents:
                issues.append(_unknown("agent", action.agent, agents, action.location, spec.file))
            if action.kind == "call" and action.tool not in tools:
                issues.append(_unknown("tool", action.tool, tools, action.location, spec.file))
        for expectation in turn.expect:
            if expectation.kind == "handoff":
                for key in ("from", "to"):
                    target = expectation.params.get(key)
                    if target is not None and target not in agents:
                        issues.append(_unknown("agent", target, agents, expectation.location, spec.file))
            elif expectation.kind in checks:
                key, known = checks[expectation.kind]
                named = expectation.params.get(key)
                if named is not None and named not in known:
                    kind = "agent" if expectation.kind == "agent" else (
                        "guardrail" if expectation.kind == "guardrail_tripped" else "tool")
                    issues.append(_unknown(kind, named, known, expectation.location, spec.file))
    return issues
