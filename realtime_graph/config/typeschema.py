"""Python type hints as JSON Schema, and JSON values converted back into those types.

Scalars, ``Literal``, ``Enum``, ``Optional``/unions, lists and ``dict[str, X]`` map as before;
``Annotated[X, "text"]`` and ``Annotated[X, Field(description=...)]`` add a ``description``.
Dataclasses and ``TypedDict`` s become object schemas we derive ourselves (pydantic is not a
dependency); pydantic models use pydantic's own schema, with its ``$defs`` hoisted to the root of
the tool's parameters so every ``$ref`` still resolves. Where we differ from pydantic on purpose
(tests/config/test_schema_conformance.py): no ``title`` s, no ``default`` s, and our object
schemas say ``additionalProperties: false``.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ("SchemaBuilder", "UnsupportedHint", "convert", "hint_description", "is_model_type",
           "is_pydantic_model", "is_typeddict", "needs_conversion", "strict_schema", "strip_annotated")

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class UnsupportedHint(Exception):
    """A type hint we cannot express as JSON Schema (the user should declare ``parameters``)."""


def is_pydantic_model(hint: Any) -> bool:
    """A pydantic ``BaseModel`` subclass, recognised without importing pydantic."""
    return isinstance(hint, type) and any(
        k.__name__ == "BaseModel" and k.__module__.startswith("pydantic") for k in hint.__mro__[1:])


def is_typeddict(hint: Any) -> bool:
    """A ``TypedDict`` class, from ``typing`` or ``typing_extensions`` (pydantic wants the latter
    before Python 3.12, and ``typing.is_typeddict`` does not know it there)."""
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__required_keys__") \
        and hasattr(hint, "__total__")


def is_model_type(hint: Any) -> bool:
    """A dataclass, ``TypedDict`` or pydantic model class (what ``input_type`` may name)."""
    return isinstance(hint, type) and (dataclasses.is_dataclass(hint) or is_typeddict(hint)
                                       or is_pydantic_model(hint))


def strip_annotated(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """``(X, metadata)`` for ``Annotated[X, *metadata]``; ``(hint, ())`` otherwise."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *metadata = typing.get_args(hint)
        return base, tuple(metadata)
    return hint, ()


def hint_description(metadata: tuple[Any, ...]) -> str | None:
    """The description an ``Annotated`` hint carries: a plain string, or an object with a string
    ``description`` (pydantic's ``Field(description=...)``)."""
    for item in metadata:
        if isinstance(item, str):
            return item
        text = getattr(item, "description", None)
        if isinstance(text, str):
            return text
    return None


def _json_values(name: str, values: list[Any]) -> list[Any]:
    """Enum / Literal values as the model will see them: only JSON scalars (str, int, finite
    float, bool, None) survive ``session.update``; anything else is an unsupported hint."""
    for value in values:
        if value is not None and type(value) not in (str, int, float, bool):
            raise UnsupportedHint(f"{name} (value of type {type(value).__name__} is not JSON)")
        if isinstance(value, float) and not math.isfinite(value):
            raise UnsupportedHint(f"{name} (value {value!r} is not JSON)")
        if isinstance(value, str) and not value.isprintable() and any("\ud800" <= c <= "\udfff" for c in value):
            raise UnsupportedHint(f"{name} (a value holds a lone surrogate)")
    return values


def _type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # unresolvable forward references
        raise UnsupportedHint(f"{cls.__name__} (its annotations do not resolve: {exc})") from None


class SchemaBuilder:
    """Builds schemas for the hints of one tool; ``defs`` collects pydantic's ``$defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}
        self._open: set[type] = set()  # classes being derived (recursive types are refused)

    def schema(self, hint: Any) -> dict[str, Any]:
        """The JSON Schema of ``hint``. Raises :class:`UnsupportedHint`."""
        hint, metadata = strip_annotated(hint)
        out = self._plain(hint)
        description = hint_description(metadata)
        if description is not None:
            out = {**out, "description": description}
        return out

    def _plain(self, hint: Any) -> dict[str, Any]:
        if hint is inspect.Parameter.empty or hint is Any:
            return {}
        if hint in _SCALARS:
            return {"type": _SCALARS[hint]}
        if hint is type(None):
            return {"type": "null"}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"enum": _json_values(hint.__name__, [m.value for m in hint])}
        if hint in (list, tuple, set, frozenset):
            return {"type": "array"}
        if hint is dict:
            return {"type": "object"}
        if is_pydantic_model(hint):
            return self._pydantic(hint)
        if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or is_typeddict(hint)):
            return self._object(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Literal:
            kinds = {_SCALARS.get(type(a)) for a in args}
            out: dict[str, Any] = {"enum": _json_values(repr(hint), list(args))}
            if len(kinds) == 1 and None not in kinds:
                out["type"] = kinds.pop()
            return out
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            inner = self.schema(members[0]) if len(members) == 1 else {"anyOf": [self.schema(m) for m in members]}
            if len(members) == len(args):
                return inner
            if isinstance(inner.get("type"), str):
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        if origin in (list, tuple, set, frozenset):
            if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
                raise UnsupportedHint(f"fixed-length tuple {hint!r}")
            return {"type": "array", "items": self.schema(args[0])} if args else {"type": "array"}
        if origin is dict:
            if args and args[0] is not str:
                raise UnsupportedHint(f"{hint!r} (JSON object keys are strings)")
            return {"type": "object", "additionalProperties": self.schema(args[1])} if args else {"type": "object"}
        raise UnsupportedHint(getattr(hint, "__name__", None) or repr(hint))

    def _object(self, cls: type) -> dict[str, Any]:
        if cls in self._open:
            raise UnsupportedHint(f"{cls.__name__} (a recursive type; declare `parameters`)")
        self._open.add(cls)
        try:
            hints = _type_hints(cls)
            if dataclasses.is_dataclass(cls):
                fields = [f for f in dataclasses.fields(cls) if f.init]
                names = [f.name for f in fields]
                required = [f.name for f in fields if f.default is dataclasses.MISSING
                            and f.default_factory is dataclasses.MISSING]
            else:  # TypedDict
                names = list(hints)
                required = [n for n in names if n in getattr(cls, "__required_keys__", names)]
            properties = {}
            for name in names:
                try:
                    properties[name] = self.schema(hints.get(name, Any))
                except UnsupportedHint as exc:
                    raise UnsupportedHint(f"{cls.__name__}.{name}: {exc}") from None
        finally:
            self._open.discard(cls)
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    def _pydantic(self, model: type) -> dict[str, Any]:
        from pydantic import TypeAdapter

        try:
            schema: dict[str, Any] = TypeAdapter(model).json_schema()
        except Exception as exc:  # pydantic's own refusal (arbitrary types, ...)
            raise UnsupportedHint(f"{model.__name__} (pydantic: {str(exc).splitlines()[0]})") from None
        for name, definition in schema.pop("$defs", {}).items():
            if self.defs.setdefault(name, definition) != definition:
                raise UnsupportedHint(f"{model.__name__} (two different models named {name!r})")
        return schema


def needs_conversion(hint: Any) -> bool:
    """Whether JSON values for ``hint`` must be converted (it holds a dataclass or pydantic model)."""
    hint, _ = strip_annotated(hint)
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or is_pydantic_model(hint)):
        return True
    return any(needs_conversion(a) for a in typing.get_args(hint) if a is not Ellipsis)


def convert(hint: Any, value: Any) -> Any:
    """``value`` (JSON data from the model) as ``hint``: dataclasses built from objects, pydantic
    models validated, containers converted element by element, everything else as it is.

    Raises ``TypeError`` / ``ValueError`` (or pydantic's ``ValidationError``) for a value that does
    not fit, e.g. a dataclass's missing field.
    """
    hint, _ = strip_annotated(hint)
    if not needs_conversion(hint):
        return value
    if is_pydantic_model(hint):
        return hint.model_validate(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise TypeError(f"{hint.__name__} expects an object, got {type(value).__name__}")
        hints = _type_hints(hint)
        known = {f.name for f in dataclasses.fields(hint) if f.init}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{hint.__name__} has no field {unknown[0]!r}")
        return hint(**{k: convert(hints.get(k, Any), v) for k, v in value.items()})
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        members = [a for a in args if needs_conversion(a)]
        return convert(members[0], value) if len(members) == 1 and isinstance(value, (Mapping, list)) else value
    if origin in (list, tuple, set, frozenset) and isinstance(value, list):
        return origin(convert(args[0], v) for v in value)
    if origin is dict and isinstance(value, Mapping):
        return {k: convert(args[1], v) for k, v in value.items()}
    return value


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` made strict the way the SDK makes a handoff's ``input_type`` schema:
    every object closed (``additionalProperties: false``) with every property required,
    ``default: null`` dropped, ``oneOf`` read as ``anyOf``, a ``$ref`` with sibling keys inlined.
    Only the common shapes pydantic emits are handled; anything else is copied as it is."""
    root = schema

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) > 1 and ref.startswith("#/$defs/"):
            target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
            if isinstance(target, dict):
                node.pop("$ref")
                node = {**target, **node}
        if "oneOf" in node:
            node["anyOf"] = [*node.get("anyOf", []), *node.pop("oneOf")]
        out = {k: (walk(v) if k in ("items", "anyOf", "allOf") else v) for k, v in node.items()}
        for key in ("properties", "$defs"):
            if isinstance(node.get(key), dict):
                out[key] = {name: walk(v) for name, v in node[key].items()}
        if out.get("type") is None and isinstance(out.get("properties"), dict):
            out["type"] = "object"
        kind = out.get("type")
        if (kind == "object" or (isinstance(kind, list) and "object" in kind)) and "additionalProperties" not in out:
            out["additionalProperties"] = False
        if isinstance(out.get("properties"), dict):
            out["required"] = list(out["properties"])
        if "default" in out and out["default"] is None:
            del out["default"]
        return out

    result: dict[str, Any] = walk(schema)
    return result
