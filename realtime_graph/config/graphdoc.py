"""Build the ``kind: graph`` document: variables, settings, run, guardrails, hooks, transport."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..graph.model import (
    Guardrail,
    Hooks,
    InstructionTemplate,
    ReconnectSettings,
    RunSettings,
    ServeSettings,
    TransportSettings,
    Variable,
    freeze,
)
from .components import build_guardrails, build_hooks
from .durations import parse_duration
from .entrypoints import EntrypointResolver
from .envrefs import has_reference, references_credential, to_secret
from .issues import IssueSink
from .settings import normalise_model_settings, transport_settings
from .templates import compile_instructions
from .yamlsource import Document, JsonPath

__all__ = ("GraphParts", "build_graph_parts", "compile_greeting", "declared_allow", "declared_variable_names")

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
}


@dataclass(frozen=True, slots=True)
class GraphParts:
    """Everything of the graph document except the agents."""

    start: str
    variables: Mapping[str, Variable]
    model_settings: Mapping[str, Any]
    run: RunSettings = field(default_factory=RunSettings)
    output_guardrails: tuple[Guardrail, ...] = ()
    hooks: Hooks = field(default_factory=Hooks)
    transport: TransportSettings = field(default_factory=TransportSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    greeting: InstructionTemplate | None = None


def compile_greeting(raw: Any, variables: Collection[str], doc: Document,
                     sink: IssueSink) -> InstructionTemplate | None:
    """``greeting: "..."`` or ``greeting: {instructions: "..."}`` (schema-checked) → its instructions,
    a template over the declared variables like an agent's ``instructions`` (located RG4xx issues)."""
    path: tuple[str, ...] = ("greeting",)
    if isinstance(raw, dict):
        raw, path = raw.get("instructions"), ("greeting", "instructions")
    if not isinstance(raw, str) or not raw.strip():
        return None
    return compile_instructions(raw, variables, doc, path, sink)


def declared_variable_names(data: Any) -> set[str]:
    """Variable names of a graph document, even an invalid one (avoids cascades of RG402)."""
    variables = data.get("variables") if isinstance(data, dict) else None
    return set(variables) if isinstance(variables, dict) else set()


def declared_allow(data: Any) -> tuple[str, ...] | None:
    """``imports.allow`` of a graph document, even an invalid one; None when it sets no allow list.

    Agents are built (and their modules imported) whether or not the graph document is valid,
    so the allow list must bind regardless. Malformed ones fail closed: only the strings of a
    list count, and an ``imports`` or ``allow`` of the wrong type allows nothing.
    """
    if not isinstance(data, dict) or "imports" not in data:
        return None
    imports = data["imports"]
    if isinstance(imports, dict) and "allow" not in imports:
        return None
    allow = imports.get("allow") if isinstance(imports, dict) else None
    if not isinstance(allow, list):
        return ()
    return tuple(p for p in allow if isinstance(p, str))


_TYPE_OF_CONSTANT: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}


def _constant(name: str, raw: Mapping[str, Any], resolver: EntrypointResolver, doc: Document,
              sink: IssueSink) -> tuple[bool, Any]:
    """A ``default: {entrypoint: module:NAME}`` resolved now: ``(ok, value)``; only str, int,
    float and bool constants (templates get plain data, never arbitrary objects)."""
    path = ("variables", name, "default", "entrypoint")
    ref = raw["default"]["entrypoint"]
    ok, value = resolver.resolve_constant(ref, doc, path)
    if not ok or (value is None and not resolver.import_modules):
        return ok, None
    if type(value) not in _TYPE_OF_CONSTANT:
        sink.add("RG505", f"default of variable {name!r} comes from {ref!r}, which is of type "
                 f"{type(value).__name__}", doc, path,
                 hint="point at a str, int, float or bool constant (or compute the text in "
                      "`instructions: {entrypoint: module:function}`)")
        return False, None
    return True, value


def _variables(doc: Document, sink: IssueSink, environ: Mapping[str, str],
               resolver: EntrypointResolver) -> dict[str, Variable]:
    out: dict[str, Variable] = {}
    for name, raw in doc.data.get("variables", {}).items():
        path: JsonPath = ("variables", name, "default")
        kind = raw.get("type", "string")
        default = raw.get("default")
        from_constant = isinstance(default, dict)
        ok = True
        if from_constant:
            ok, default = _constant(name, raw, resolver, doc, sink)
            if "type" not in raw and default is not None:
                kind = _TYPE_OF_CONSTANT[type(default)]
            path = (*path, "entrypoint")
        if not ok:
            default = None  # still declared: templates using it get no undeclared-variable error
        elif isinstance(default, str) and not from_constant and has_reference(default):
            default = to_secret(default, doc, path, sink, environ)
        elif default is not None and (not isinstance(default, _PYTHON_TYPES[kind])
                                      or (kind != "boolean" and isinstance(default, bool))):
            sink.add("RG505", f"default of variable {name!r} is not of type {kind}", doc, path,
                     hint="change the default or set `type` (string, integer, number, boolean)")
        secret = isinstance(raw.get("default"), str) and references_credential(raw["default"])
        out[name] = Variable(name=name, type=kind, default=default, required=raw.get("required", False),
                             description=raw.get("description", ""), secret=secret)
    return out


def _reconnect(raw: Mapping[str, Any], doc: Document, sink: IssueSink) -> ReconnectSettings:
    """``run.reconnect`` (already schema-checked); ``max_session_age: null`` turns rollover off."""
    defaults = ReconnectSettings()

    def seconds(key: str, default: float | None) -> float | None:
        value = raw.get(key, default)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            sink.add("RG506", str(exc), doc, ("run", "reconnect", key), hint="e.g. 500ms, 5s, 1.5s or 2m")
            return default

    initial = seconds("backoff_initial", defaults.backoff_initial)
    most = seconds("backoff_max", defaults.backoff_max)
    return ReconnectSettings(
        enabled=raw.get("enabled", defaults.enabled),
        max_attempts=raw.get("max_attempts", defaults.max_attempts),
        backoff_initial=defaults.backoff_initial if initial is None else initial,
        backoff_max=defaults.backoff_max if most is None else most,
        max_session_age=seconds("max_session_age", defaults.max_session_age),
    )


def build_graph_parts(doc: Document, resolver: EntrypointResolver, sink: IssueSink,
                      environ: Mapping[str, str]) -> GraphParts:
    """The graph document's parts (``resolver.allow`` is already set from :func:`declared_allow`)."""
    data = doc.data
    variables = _variables(doc, sink, environ, resolver)
    run_raw = data.get("run", {})
    formatter = None
    if "tool_error_formatter" in run_raw:
        formatter = resolver.resolve(run_raw["tool_error_formatter"], doc, ("run", "tool_error_formatter"),
                                     "tool_error_formatter")
    run = RunSettings(
        async_tool_calls=run_raw.get("async_tool_calls", True),
        guardrail_debounce_text_length=run_raw.get("guardrails", {}).get("debounce_text_length", 100),
        guardrail_max_consecutive_trips=run_raw.get("guardrails", {}).get("max_consecutive_trips", 2),
        tool_error_formatter=formatter,
        tracing_disabled=run_raw.get("tracing_disabled", False),
        guardrail_timeout=parse_duration(run_raw.get("guardrails", {}).get("timeout", 5)),
        connect_timeout=parse_duration(run_raw.get("timeouts", {}).get("connect", 10)),
        first_event_timeout=parse_duration(run_raw.get("timeouts", {}).get("first_event", 10)),
        response_timeout=parse_duration(run_raw.get("timeouts", {}).get("response", 30)),
        instructions_timeout=parse_duration(run_raw.get("timeouts", {}).get("instructions", 5)),
        tool_max_output_chars=run_raw.get("tools", {}).get("max_output_chars", 100_000),
        tool_loop_lag_threshold=_lag_threshold(run_raw.get("tools", {}), doc, sink),
        reconnect=_reconnect(run_raw.get("reconnect", {}), doc, sink),
    )
    return GraphParts(
        start=data["start"],
        variables=freeze(variables),
        model_settings=normalise_model_settings(data.get("model_settings", {}), doc, ("model_settings",), sink,
                                                environ),
        run=run,
        output_guardrails=build_guardrails(data.get("output_guardrails", []), doc, ("output_guardrails",),
                                           resolver, sink),
        hooks=build_hooks(data["hooks"], doc, ("hooks",), resolver) if "hooks" in data else Hooks(),
        transport=transport_settings(data.get("transport", {}), doc, sink, environ),
        serve=_serve(data.get("serve", {}), doc, sink, environ),
        greeting=compile_greeting(data.get("greeting"), variables, doc, sink),
    )


def _lag_threshold(tools: Mapping[str, Any], doc: Document, sink: IssueSink) -> float:
    """``run.tools.loop_lag_threshold``: a duration, or ``false`` (0.0: never report)."""
    raw = tools.get("loop_lag_threshold", 0.5)
    if raw is False:
        return 0.0
    try:
        return parse_duration(raw)
    except ValueError as exc:
        sink.add("RG506", str(exc), doc, ("run", "tools", "loop_lag_threshold"), hint="e.g. 500ms, 1s or false")
        return 0.5


def _serve(raw: Mapping[str, Any], doc: Document, sink: IssueSink, environ: Mapping[str, str]) -> ServeSettings:
    token = None
    if "token" in raw.get("auth", {}):
        path = ("serve", "auth", "token")
        value = raw["auth"]["token"]
        if not has_reference(value):
            sink.add("RG503", "serve.auth.token must be an ${ENV} reference, not a literal token", doc, path,
                     hint='write token: "${RTGRAPH_TOKEN}" and export the token')
        else:
            token = to_secret(value, doc, path, sink, environ)
    return ServeSettings(host=raw.get("host"), port=raw.get("port"), max_sessions=raw.get("max_sessions"),
                         drain_timeout=parse_duration(raw["drain_timeout"]) if "drain_timeout" in raw else None,
                         token=token, allowed_origins=tuple(raw.get("allowed_origins", ())),
                         browser=raw.get("channels", {}).get("browser", {}).get("enabled", True),
                         twilio=raw.get("channels", {}).get("twilio", {}).get("enabled", True),
                         public_url=raw.get("public_url"))
