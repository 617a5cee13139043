"""Stage 1b: JSON Schema validation of each document, errors mapped to located issues.

The schema files in ``schemas/`` are the user's contract. ``rtgraph.schema.json`` holds every
definition under ``$defs``; ``agent``/``graph`` validators are compiled from it once per process.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .issues import IssueSink, closest
from .yamlsource import Document, JsonPath

__all__ = ("KINDS", "check_json_schema", "schema_document", "validate_document")

KINDS = ("agent", "graph")
_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
_SENSITIVE = (("transport", "api_key"), ("transport", "headers"))
_TYPE_NAMES = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


@cache
def _root() -> dict[str, Any]:
    with open(_SCHEMA_DIR / "rtgraph.schema.json", encoding="utf-8") as f:
        root: dict[str, Any] = json.load(f)
    return root


def schema_document(kind: str | None = None) -> dict[str, Any]:
    """The self-contained schema for ``kind`` (``agent``/``graph``), or the combined one."""
    root = _root()
    if kind is None:
        return root
    return {"$schema": root["$schema"], "$id": root["$id"].replace("rtgraph", kind),
            "title": f"realtime-graph {kind} document", "$ref": f"#/$defs/{kind}",
            "$defs": root["$defs"]}


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema_document(kind))


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _sensitive(path: JsonPath) -> bool:
    if path[:1] == ("model_settings",) and "tools" in path and ("headers" in path or "authorization" in path):
        return True  # a hosted MCP tool's credentials
    return any(path[: len(p)] == p for p in _SENSITIVE)


def _describe(error: Any, path: JsonPath) -> tuple[str, str, str | None]:
    """(code, message, hint) for one jsonschema error, in our words; never echoes secrets."""
    v, schema, value = error.validator, error.schema, error.instance
    hint: str | None = schema.get("description")
    if v == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        wanted = wanted.replace("object", "mapping").replace("array", "list")
        return "RG110", f"expected {wanted}, got {_type_name(value)}", hint
    if v in ("enum", "const"):
        options = error.validator_value if v == "enum" else [error.validator_value]
        got = "" if _sensitive(path) else f", got {value!r}"
        near = closest(value, [str(o) for o in options]) if isinstance(value, str) else None
        return "RG110", f"must be one of {', '.join(map(str, options))}{got}", (
            f"did you mean {near!r}?" if near else hint)
    if v == "pattern":
        shown = "value" if _sensitive(path) else repr(value)
        return "RG110", f"{shown} has an invalid format", hint
    if v == "minLength":
        return "RG110", "must not be empty", hint
    if v == "minItems":
        return "RG110", f"must have at least {error.validator_value} item(s)", hint
    if v == "uniqueItems":
        return "RG110", "items must be unique", hint
    if v in ("minimum", "maximum", "exclusiveMinimum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">"}[v]
        return "RG110", f"must be {op} {error.validator_value}", hint
    return "RG110", "invalid value" if _sensitive(path) else error.message, hint


def _report(error: Any, doc: Document, sink: IssueSink) -> None:
    path: JsonPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key in known:
                continue
            near = closest(key, known)
            hint: str | None = f"did you mean {near!r}?" if near else f"valid keys: {', '.join(known)}"
            sink.add("RG111", f"unknown key {key!r}", doc, (*path, key), key=True, hint=hint)
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                sink.add("RG112", f"missing required key {key!r}", doc, path,
                         hint=error.schema.get("properties", {}).get(key, {}).get("description"))
        return
    if path and path[-1] == "dtmf" and "propertyNames" in error.schema_path:
        sink.add("RG110", f"{error.instance!r} is not a keypad digit", doc, (*path, error.instance), key=True,
                 hint='use one of 0-9, *, #, A-D, quoted: "1", "#"')
        return
    if len(path) == 2 and path[0] == "dtmf" and error.validator in ("minProperties", "maxProperties"):
        sink.add("RG110", f"dtmf digit {path[1]!r} needs exactly one action", doc, path,
                 hint="write one of {handoff: AGENT}, {say: TEXT}, {send: TEXT}")
        return
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        sink.add("RG110", f"{error.instance!r} is not a valid name", doc, (*path, error.instance), key=True,
                 hint="use letters, digits and _, not starting with a digit")
        return
    code, message, hint = _describe(error, path)
    sink.add(code, message, doc, path, hint=hint)


def validate_document(doc: Document, sink: IssueSink) -> str | None:
    """Check ``doc`` against its kind's schema; returns the kind when the document is valid."""
    data = doc.data
    if not isinstance(data, dict):
        sink.add("RG113", f"a document must be a mapping with a `kind`, got {_type_name(data)}", doc,
                 hint="start the document with `kind: agent` or `kind: graph`")
        return None
    kind = data.get("kind")
    if kind is None:
        sink.add("RG113", "document has no `kind`", doc, hint="add `kind: agent` or `kind: graph`")
        return None
    if kind not in KINDS:
        near = closest(str(kind), KINDS)
        sink.add("RG113", f"unknown kind {kind!r}", doc, ("kind",),
                 hint=f"did you mean {near!r}?" if near else "use `agent` or `graph`")
        return None
    before = len(sink.issues)
    seen: set[tuple[Any, ...]] = set()
    for error in _validator(kind).iter_errors(data):
        for leaf in _leaves(error):
            key = (tuple(leaf.absolute_path), leaf.validator)
            if key not in seen:
                seen.add(key)
                _report(leaf, doc, sink)
    return kind if len(sink.issues) == before else None


def _leaves(error: Any) -> list[Any]:
    """anyOf/oneOf/if errors: keep the most relevant sub-error, not the whole noisy tree."""
    if error.context:
        from jsonschema.exceptions import best_match

        return [best_match(error.context)]
    return [error]


def check_json_schema(schema: Any, doc: Document, path: JsonPath, sink: IssueSink) -> bool:
    """A user-declared tool ``parameters`` schema must be a valid object schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        sink.add("RG110", f"not a valid JSON Schema: {exc.message}", doc,
                 path + tuple(exc.absolute_path))
        return False
    if schema.get("type") != "object":
        sink.add("RG110", "tool parameters must be a JSON Schema with `type: object`", doc, path,
                 hint="e.g. {type: object, properties: {city: {type: string}}, required: [city]}")
        return False
    return True
