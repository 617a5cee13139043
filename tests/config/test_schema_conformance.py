"""Our derived tool schemas against pydantic's ``TypeAdapter`` (what the SDK's ``@function_tool`` uses).

Per type hint, and per whole signature (pydantic: a model built from the parameters, as the SDK
does), the two schemas must say the same after :func:`normalise`, which removes only the
differences we keep on purpose:

- ``title`` (pydantic names every model and property; the model sees the names already);
- ``default`` (pydantic shows defaults; we leave a default out of ``required`` and do not repeat it);
- ``additionalProperties: false`` on our objects (we are strict about unknown keys; pydantic's
  dataclass / TypedDict schemas are open) and pydantic's ``additionalProperties: true`` on a bare
  ``dict`` (and our equivalent ``{}`` for ``dict[str, Any]``); ``required: []`` when nothing is required (pydantic omits the key);
- ``Optional[X]``: we write ``{"type": [X, "null"]}`` when X has a single type, pydantic
  ``anyOf``; nested dataclasses are inlined where pydantic uses ``$defs`` / ``$ref``;
- ``Enum``: we give only ``enum`` (pydantic adds ``type``); bare ``list`` has no ``items: {}``
  and sets carry no ``uniqueItems``;
- ``Annotated[X, "text"]``: we take a plain string as the description; pydantic ignores it
  (``Field(description=...)`` is read by both).
"""

from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional

import pytest

pydantic = pytest.importorskip("pydantic")

from typing_extensions import TypedDict  # noqa: E402 (pydantic's requirement before Python 3.12)

from realtime_graph.config.signature import describe_function  # noqa: E402
from realtime_graph.config.typeschema import SchemaBuilder  # noqa: E402


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Address:
    street: str
    zip: Optional[str] = None  # noqa: UP045 (the typing spelling is part of the table)


@dataclass
class Order:
    item: str
    qty: int = 1
    ship_to: Address | None = None
    tags: list[str] = field(default_factory=list)


class Filters(TypedDict, total=False):
    color: Color
    sizes: list[Literal["S", "M", "L"]]


class Required(TypedDict):
    name: str
    age: int


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(description="Full name")
    address: Address
    nicknames: set[str] = pydantic.Field(default_factory=set)


HINTS: list[Any] = [
    str, int, float, bool, Any, list, dict,
    list[int], tuple[str, ...], set[str], dict[str, float],
    Literal["C", "F"], Literal[1, 2, 3], Color,
    Optional[int], int | None, str | int, list[int] | None,  # noqa: UP045
    Annotated[str, pydantic.Field(description="The city")],
    Address, Order, Order | None, Filters, Required, Person, list[Address],
]


def _resolve(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs[schema["$ref"].rpartition("/")[2]]
            return _resolve({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, defs)
        return {k: _resolve(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_resolve(v, defs) for v in schema]
    return schema


def normalise(schema: Any) -> Any:
    """The schema without the differences documented above (applied to both sides)."""
    if isinstance(schema, list):
        return [normalise(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: normalise(v) for k, v in schema.items()
           if k not in ("title", "default", "uniqueItems") and not (k == "additionalProperties" and v in (False, True, {}))
           and not (k == "required" and v == []) and not (k == "items" and v == {})}
    if "enum" in out:
        out.pop("type", None)
    kind = out.get("type")
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        other = next(k for k in kind if k != "null")
        out = {"anyOf": [{**out, "type": other}, {"type": "null"}]}
    return out


@pytest.mark.parametrize("hint", HINTS, ids=[str(h) for h in HINTS])
def test_hint_schema_agrees_with_pydantic(hint: Any) -> None:
    builder = SchemaBuilder()
    ours = builder.schema(hint)
    theirs = pydantic.TypeAdapter(hint).json_schema()
    assert normalise(_resolve(ours, builder.defs)) == normalise(_resolve(theirs, theirs.get("$defs", {})))


def weather(city: Annotated[str, pydantic.Field(description="The city")], unit: Literal["C", "F"] = "C",
            days: int = 1) -> str:
    return ""


def place(order: Order, filters: Filters, express: bool = False) -> str:
    return ""


def register(person: Person, tags: list[str] | None = None) -> str:
    return ""


def anything(payload: dict[str, Any], items: list[Any], note: str | None = None) -> str:
    return ""


@pytest.mark.parametrize("fn", [weather, place, register, anything], ids=lambda f: f.__name__)
def test_signature_schema_agrees_with_pydantic(fn) -> None:
    ours = describe_function(fn).parameters
    fields = {name: (p.annotation, ... if p.default is p.empty else p.default)
              for name, p in inspect.signature(fn).parameters.items()}
    theirs = pydantic.create_model(f"{fn.__name__}_args", **fields).model_json_schema()
    assert normalise(_resolve(ours, ours.get("$defs", {}))) == normalise(_resolve(theirs, theirs.get("$defs", {})))


def test_the_documented_differences_are_real() -> None:
    """What :func:`normalise` removes does differ (so the comparison above is not vacuous)."""
    assert SchemaBuilder().schema(Annotated[str, "The city"]) == {"type": "string", "description": "The city"}
    assert pydantic.TypeAdapter(Annotated[str, "The city"]).json_schema() == {"type": "string"}
    assert SchemaBuilder().schema(Address)["additionalProperties"] is False
    assert "additionalProperties" not in pydantic.TypeAdapter(Address).json_schema()
    assert SchemaBuilder().schema(Optional[int]) == {"type": ["integer", "null"]}  # noqa: UP045
    assert SchemaBuilder().schema(Color) == {"enum": ["red", "blue"]}
