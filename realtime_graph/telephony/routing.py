"""Declarative call routing: which agent answers a call and which context variables it starts with.

Rules come from the graph file's ``telephony.routing`` list (validated, with located errors, by
``realtime_graph.config``). The first rule whose conditions all match wins; no match means the
graph's ``start`` agent and no routed context. Caller-controlled values (SIP headers, Twilio
``customParameters``) are untrusted: they are only compared with the rules' patterns and copied
into declared string variables, never interpreted. A value longer than ``max_value_length``
counts as absent; control characters are removed from copied values.

Matching semantics: SIP header names are case-insensitive, parameter names case-sensitive; when a
header repeats, its first value counts. ``exact`` compares the whole value, ``glob`` is
``fnmatch`` on the whole value (case-sensitive), ``regex`` is ``re.search`` (anchor with ``^…$``).
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ConfigError, Issue

__all__ = (
    "DEFAULT_MAX_VALUE_LENGTH",
    "CallRouting",
    "Condition",
    "Fill",
    "RouteDecision",
    "RouteRule",
    "clean_value",
    "route_call",
    "routing_from_mapping",
)

DEFAULT_MAX_VALUE_LENGTH = 256

Source = Literal["header", "parameter"]
MatchKind = Literal["exact", "glob", "regex"]
_KINDS: tuple[MatchKind, ...] = ("exact", "glob", "regex")


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of a header or parameter value."""

    source: Source
    name: str
    kind: MatchKind
    pattern: str
    compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, value: str | None) -> bool:
        if value is None:
            return False
        if self.kind == "exact":
            return value == self.pattern
        if self.kind == "glob":
            return fnmatch.fnmatchcase(value, self.pattern)
        assert self.compiled is not None
        return self.compiled.search(value) is not None


@dataclass(frozen=True, slots=True)
class Fill:
    """Where a routed variable's value comes from: a header, a parameter, or a literal string."""

    source: Source | Literal["literal"]
    value: str


@dataclass(frozen=True, slots=True)
class RouteRule:
    """``when`` all match → start ``agent`` with ``set`` filled."""

    agent: str
    when: tuple[Condition, ...] = ()
    set: Mapping[str, Fill] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallRouting:
    """The graph's routing rules, in order."""

    rules: tuple[RouteRule, ...] = ()
    max_value_length: int = DEFAULT_MAX_VALUE_LENGTH


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The outcome: the start agent, the routed context, and the rule (index) that chose them."""

    agent: str
    context: Mapping[str, str]
    rule: int | None


def clean_value(value: str | None, max_length: int) -> str | None:
    """An untrusted value as routing uses it: None when absent or too long, control characters removed."""
    if value is None or len(value) > max_length:
        return None
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc")


def _lookup(source: str, name: str, headers: Sequence[tuple[str, str]], parameters: Mapping[str, str],
            limit: int) -> str | None:
    if source == "parameter":
        raw = parameters.get(name)
        return raw if isinstance(raw, str) and len(raw) <= limit else None
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value if len(value) <= limit else None
    return None


def route_call(routing: CallRouting, *, default_agent: str, headers: Sequence[tuple[str, str]] = (),
               parameters: Mapping[str, str] | None = None) -> RouteDecision:
    """Apply the rules to a call's SIP ``headers`` and/or Twilio ``parameters`` (pure)."""
    params = parameters or {}
    limit = routing.max_value_length
    for index, rule in enumerate(routing.rules):
        if all(c.matches(_lookup(c.source, c.name, headers, params, limit)) for c in rule.when):
            context: dict[str, str] = {}
            for var, fill in rule.set.items():
                raw = fill.value if fill.source == "literal" else _lookup(fill.source, fill.value, headers,
                                                                          params, limit)
                cleaned = clean_value(raw, limit)
                if cleaned is not None:
                    context[var] = cleaned
            return RouteDecision(agent=rule.agent, context=context, rule=index)
    return RouteDecision(agent=default_agent, context={}, rule=None)


# -- from the graph's (already validated) mapping ---------------------------------------------------

def _fail(message: str, path: str) -> ConfigError:
    return ConfigError([Issue(code="RG110", message=message, path=path)])


def _condition(raw: Any, path: str) -> Condition:
    if not isinstance(raw, Mapping):
        raise _fail("a routing condition must be a mapping", path)
    sources = [s for s in ("header", "parameter") if s in raw]
    kinds = [k for k in _KINDS if k in raw]
    if len(sources) != 1 or len(kinds) != 1:
        raise _fail("a routing condition needs one of header/parameter and one of exact/glob/regex", path)
    source, kind = sources[0], kinds[0]
    name, pattern = raw[source], raw[kind]
    if not isinstance(name, str) or not isinstance(pattern, str):
        raise _fail("routing condition names and patterns must be strings", path)
    compiled = None
    if kind == "regex":
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError([Issue(code="RG603", message=f"invalid regular expression {pattern!r}: {exc}",
                                     path=f"{path}.regex")]) from None
    return Condition(source=source, name=name, kind=kind, pattern=pattern, compiled=compiled)  # type: ignore[arg-type]


def _fill(raw: Any, path: str) -> Fill:
    if isinstance(raw, str):
        return Fill("literal", raw)
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((source, name),) = raw.items()
        if source in ("header", "parameter") and isinstance(name, str):
            return Fill(source, name)
    raise _fail("a routed value is a string, {header: NAME} or {parameter: NAME}", path)


def routing_from_mapping(telephony: Mapping[str, Any]) -> CallRouting:
    """The typed rules of a graph's ``telephony`` mapping (the loader has checked it, with locations).

    :raises ConfigError: for a mapping that did not come through the loader and is malformed.
    """
    raw_rules = telephony.get("routing", ())
    limit = telephony.get("max_value_length", DEFAULT_MAX_VALUE_LENGTH)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise _fail("max_value_length must be a positive integer", "$.telephony.max_value_length")
    rules: list[RouteRule] = []
    for i, raw in enumerate(raw_rules):
        path = f"$.telephony.routing[{i}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("agent"), str):
            raise _fail("a routing rule is a mapping with an `agent`", path)
        when = tuple(_condition(c, f"{path}.when[{j}]") for j, c in enumerate(raw.get("when", ())))
        fills = {str(k): _fill(v, f"{path}.set.{k}") for k, v in raw.get("set", {}).items()}
        rules.append(RouteRule(agent=raw["agent"], when=when, set=fills))
    return CallRouting(rules=tuple(rules), max_value_length=limit)
