"""Session events of one turn → observations, and expectations checked against them (pure).

An :class:`Observation` is one thing a user can assert on (a tool call with its result, a
handoff, a guardrail trip, an approval request, an interruption with its truncate position, an
error), with its time since the turn's input and its position in the turn. :func:`check_turn`
returns one :class:`Mismatch` per failed expectation, each with the expected text and what was
observed instead, so a report can show a readable diff at the expectation's file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .spec import Expectation

__all__ = ("Mismatch", "Observation", "TurnRecord", "check_turn", "describe_expectation", "describe_observation",
           "observe")


@dataclass(frozen=True, slots=True)
class Observation:
    """One assertable occurrence in a turn. ``kind`` is an expectation kind."""

    kind: str
    data: Mapping[str, Any]
    t_ms: float
    position: int


@dataclass(slots=True)
class TurnRecord:
    """What one turn produced: its session events (``(t_ms since the input, event dict)``) and the
    active agent once it went idle."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    agent: str | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A failed expectation: what was expected and what the turn showed instead."""

    expectation: Expectation | None
    expected: str
    observed: tuple[str, ...]


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def observe(record: TurnRecord) -> list[Observation]:
    """The observations in a turn's events (``event.to_dict()`` forms), in order."""
    out: list[Observation] = []
    started: dict[str, tuple[float, int]] = {}
    interruptions: dict[str, int] = {}
    for position, (t_ms, event) in enumerate(record.events):
        kind = event["type"]
        if kind == "tool_start":
            started[event["call_id"]] = (t_ms, position)
        elif kind == "tool_end":
            # ordered by when it started, timed by when its result was there (within_ms bounds both)
            _, p0 = started.pop(event["call_id"], (t_ms, position))
            out.append(Observation("tool_called", {"name": event["tool"], "arguments": _arguments(event["arguments"]),
                                                   "result": event["output"], "agent": event["agent"]}, t_ms, p0))
        elif kind == "handoff":
            out.append(Observation("handoff", {"from": event["from_agent"], "to": event["to_agent"]}, t_ms, position))
        elif kind == "guardrail_tripped":
            names = [r.get("guardrail", "") for r in event["guardrail_results"]]
            out.append(Observation("guardrail_tripped", {"names": names, "message": event["message"]}, t_ms, position))
        elif kind == "tool_approval_required":
            out.append(Observation("approval_requested", {"tool": event["tool"],
                                                          "arguments": _arguments(event["arguments"])}, t_ms, position))
        elif kind == "audio_interrupted":
            interruptions[event["item_id"]] = len(out)
            out.append(Observation("interruption", {"item_id": event["item_id"], "audio_end_ms": None}, t_ms, position))
        elif kind == "error":
            error = event["error"] if isinstance(event["error"], dict) else {"message": str(event["error"])}
            out.append(Observation("error", {"code": error.get("code") or error.get("kind"),
                                             "message": str(error.get("message", ""))}, t_ms, position))
        elif kind == "raw_model_event":
            data = event["data"]
            if data.get("type") == "conversation.item.truncated" and data.get("item_id") in interruptions:
                index = interruptions[data["item_id"]]
                old = out[index]
                out[index] = Observation("interruption", {**old.data, "audio_end_ms": data.get("audio_end_ms")},
                                         old.t_ms, old.position)
            elif data.get("type") == "response.output_item.done":
                item = data.get("item") or {}
                if item.get("type") == "message" and item.get("role") == "assistant":
                    text = "".join(p.get("transcript") or p.get("text") or "" for p in item.get("content", []))
                    out.append(Observation("transcript", {"text": text}, t_ms, position))
    for t0, p0 in started.values():  # still running when the turn ended
        event = record.events[p0][1]
        out.append(Observation("tool_called", {"name": event["tool"], "arguments": _arguments(event["arguments"]),
                                               "result": None, "running": True, "agent": event["agent"]}, t0, p0))
    return sorted(out, key=lambda o: o.position)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def describe_expectation(e: Expectation) -> str:
    """The expectation in one line (``no ...`` when ``absent``; ``within N ms``)."""
    p = e.params
    if e.kind == "tool_called":
        text = f"tool {p['name']} called"
        if "arguments" in p:
            text += f" with arguments {'=' if p.get('exact') else '⊇'} {_json(p['arguments'])}"
        if "result" in p:
            text += f", result {_json(p['result'])}"
        if "result_contains" in p:
            text += f", result containing {p['result_contains']!r}"
    elif e.kind == "handoff":
        text = f"handoff {p.get('from', '*')} → {p.get('to', '*')}"
    elif e.kind == "agent":
        text = f"active agent {p['name']}"
    elif e.kind == "transcript":
        how, value = next(iter(p.items()))
        text = f"transcript {how} {value!r}"
    elif e.kind == "guardrail_tripped":
        text = f"guardrail {p['name']} tripped" if "name" in p else "a guardrail tripped"
    elif e.kind == "approval_requested":
        text = f"approval requested for {p['tool']}"
        if "arguments" in p:
            text += f" with arguments ⊇ {_json(p['arguments'])}"
    elif e.kind == "interruption":
        text = "an interruption"
        bound = p.get("audio_end_ms")
        if isinstance(bound, int):
            text += f" truncating the audio at {bound} ms"
        elif isinstance(bound, dict):
            text += f" truncating the audio at {bound.get('min', 0)}..{bound.get('max', '∞')} ms"
    else:
        text = "an error event" + "".join(f" {k}={v!r}" for k, v in p.items())
    if e.absent:
        text = f"no {text}" if not text.startswith(("a ", "an ")) else "no " + text.split(" ", 1)[1]
    if e.within_ms is not None:
        text += f" within {e.within_ms} ms"
    return text


def describe_observation(o: Observation) -> str:
    """One observed occurrence, in the words of :func:`describe_expectation`."""
    d = o.data
    at = f"  (+{o.t_ms:.0f} ms)"
    if o.kind == "tool_called":
        state = "still running" if d.get("running") else f"→ {_json(d['result'])}"
        return f"tool {d['name']} {_json(d['arguments'])} {state}{at}"
    if o.kind == "handoff":
        return f"handoff {d['from']} → {d['to']}{at}"
    if o.kind == "guardrail_tripped":
        return f"guardrail {', '.join(d['names'])} tripped{at}"
    if o.kind == "approval_requested":
        return f"approval requested for {d['tool']} {_json(d['arguments'])}{at}"
    if o.kind == "interruption":
        where = "" if d["audio_end_ms"] is None else f" (audio truncated at {d['audio_end_ms']} ms)"
        return f"interruption{where}{at}"
    if o.kind == "error":
        return f"error {d['code']}: {d['message']}{at}"
    return f"transcript {d['text']!r}{at}"


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


def _result_text(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _matches(e: Expectation, o: Observation) -> bool:
    p, d = e.params, o.data
    if e.within_ms is not None and o.t_ms > e.within_ms:
        return False
    if e.kind == "tool_called":
        if d["name"] != p["name"]:
            return False
        if "arguments" in p and not (d["arguments"] == p["arguments"] if p.get("exact")
                                     else _subset(p["arguments"], d["arguments"])):
            return False
        if "result" in p and d["result"] != p["result"] and _result_text(d["result"]) != _result_text(p["result"]):
            return False
        return "result_contains" not in p or p["result_contains"] in _result_text(d["result"])
    if e.kind == "handoff":
        return all(d[k] == p[k] for k in ("from", "to") if k in p)
    if e.kind == "guardrail_tripped":
        return "name" not in p or p["name"] in d["names"]
    if e.kind == "approval_requested":
        return d["tool"] == p["tool"] and ("arguments" not in p or _subset(p["arguments"], d["arguments"]))
    if e.kind == "interruption":
        bound, at = p.get("audio_end_ms"), d["audio_end_ms"]
        if bound is None:
            return True
        if at is None:
            return False
        if isinstance(bound, int):
            return bool(at == bound)
        return bool(bound.get("min", 0) <= at <= bound.get("max", at))
    if e.kind == "error":
        return (("code" not in p or d["code"] == p["code"])
                and ("message_contains" not in p or p["message_contains"] in d["message"]))
    return False


def _transcript_ok(params: Mapping[str, Any], text: str) -> bool:
    how, value = next(iter(params.items()))
    if how == "contains":
        return str(value).casefold() in text.casefold()
    if how == "matches":
        return re.search(value, text) is not None
    return bool(text.strip() == str(value).strip())


def check_turn(expectations: Sequence[Expectation], record: TurnRecord, *, in_order: bool = False) -> list[Mismatch]:
    """Every expectation of a turn that ``record`` does not satisfy, plus unexpected errors."""
    observations = observe(record)
    failures: list[Mismatch] = []
    last_position = -1
    expected_errors: list[Expectation] = []
    for e in expectations:
        relevant = [o for o in observations if o.kind == e.kind]
        if e.kind == "error" and not e.absent:
            expected_errors.append(e)
        if e.kind == "agent":
            ok = (record.agent == e.params["name"]) != e.absent
            if not ok:
                failures.append(Mismatch(e, describe_expectation(e), (f"active agent {record.agent}",)))
            continue
        if e.kind == "transcript":
            text = " ".join(o.data["text"] for o in relevant)
            ok = _transcript_ok(e.params, text) != e.absent
            if not ok:
                failures.append(Mismatch(e, describe_expectation(e), (f"transcript {text!r}",)))
            continue
        hits = [o for o in relevant if _matches(e, o)]
        if e.absent:
            if hits:
                failures.append(Mismatch(e, describe_expectation(e), tuple(describe_observation(o) for o in hits)))
            continue
        if in_order:
            hits = [o for o in hits if o.position > last_position]
        if not hits:
            shown = relevant if relevant else [o for o in observations if o.kind != "transcript"]
            failures.append(Mismatch(e, describe_expectation(e),
                                     tuple(describe_observation(o) for o in shown) or ("nothing",)))
            continue
        last_position = hits[0].position
    for o in observations:
        if o.kind == "error" and not any(_matches(e, o) for e in expected_errors):
            failures.append(Mismatch(None, "no error event (none expected)", (describe_observation(o),)))
    if record.timed_out:
        failures.append(Mismatch(None, "the turn goes idle", ("still busy when the turn timed out",)))
    return failures
