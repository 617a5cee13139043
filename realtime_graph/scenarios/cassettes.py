"""A cassette recorded by ``rtgraph run --record`` → a scenario document (YAML text).

Each user message (or transcribed user audio) becomes a turn; what the model did in reply (its
words, tool calls, handoffs) becomes both the turn's scripted ``model`` behaviour, so the
scenario replays offline without a key, and its ``expect`` list, so a live run checks the real
model still does it.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue

__all__ = ("scenario_from_cassette",)


def _bad(file: str, message: str, line: int | None = None) -> ConfigError:
    return ConfigError([Issue(code="SC130", message=message, file=file, line=line, column=1 if line else None)])


def _records(path: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad(path, f"cannot read cassette: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise _bad(path, "cassette is not UTF-8 text") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(path, f"not JSON: {exc.msg}", number) from None
        if not isinstance(record, dict):
            raise _bad(path, "each line must be a JSON object", number)
        out.append((number, record))
    if not out or out[0][1].get("cassette") != 1:
        raise _bad(path, 'not a cassette: the first line must be the header {"cassette": 1, ...}', 1)
    return out[1:]


def _user_text(item: dict[str, Any]) -> str | None:
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    texts = [p.get("text", "") for p in item.get("content", []) if p.get("type") == "input_text"]
    return " ".join(texts) if texts else None


def scenario_from_cassette(path: str | os.PathLike[str], *, name: str | None = None) -> str:
    """The scenario YAML for the cassette at ``path``. :raises ConfigError: unreadable cassette."""
    import yaml

    file = os.fspath(path)
    turns: list[dict[str, Any]] = []
    calls: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}  # call_id -> (turn, action, expect)
    for number, record in _records(file):
        event = record.get("event")
        if not isinstance(event, dict) or record.get("dir") not in ("client", "server"):
            raise _bad(file, 'each event line needs "dir" (client/server) and an "event" object', number)
        kind = event.get("type")
        if record["dir"] == "client" and kind == "conversation.item.create":
            item = event.get("item") or {}
            text = _user_text(item)
            if "id" in item and text is not None:
                continue  # a reconnect's replay of a message already recorded (only replays carry ids)
            if text is not None and not text.startswith("guardrail triggered:"):
                turns.append({"user": text, "model": [], "expect": []})
            elif item.get("type") == "function_call_output" and item.get("call_id") in calls:
                turn, action, expect = calls.pop(item["call_id"])
                try:
                    output = json.loads(item.get("output", ""))
                except (TypeError, ValueError):
                    output = None
                if isinstance(output, dict) and set(output) == {"assistant"}:  # a handoff's output
                    action.clear()
                    action["handoff"] = output["assistant"]
                    expect.clear()
                    expect["handoff"] = {"to": output["assistant"]}
        elif record["dir"] == "server" and kind == "conversation.item.input_audio_transcription.completed":
            turns.append({"user": event.get("transcript", ""), "model": [], "expect": []})
        elif record["dir"] == "server" and kind == "response.output_item.done" and turns:
            item = event.get("item") or {}
            turn = turns[-1]
            if item.get("type") == "function_call":
                try:
                    arguments = json.loads(item.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                action = {"call": {"tool": item.get("name", ""), "arguments": arguments}}
                expect = {"tool_called": {"name": item.get("name", ""), "arguments": copy.deepcopy(arguments),
                                          "exact": True}}
                turn["model"].append(action)
                turn["expect"].append(expect)
                calls[item.get("call_id", "")] = (turn, action, expect)
            elif item.get("type") == "message" and item.get("role") == "assistant":
                words = "".join(p.get("transcript") or p.get("text") or "" for p in item.get("content", []))
                if words:
                    turn["model"].append({"say": words})
                    turn["expect"].append({"transcript": {"contains": words}})
    if not turns:
        raise _bad(file, "the cassette has no user turn (text messages or transcribed audio) to convert")
    for turn in turns:
        for key in ("model", "expect"):
            if not turn[key]:
                del turn[key]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(file).stem) or "recorded"
    document = {"kind": "scenario", "name": name or stem,
                "description": f"Converted from the cassette {Path(file).name} (rtgraph test --from-cassette).",
                "turns": turns}
    header = "# yaml-language-server: $schema=https://realtime-graph.dev/schemas/scenario.schema.json\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
