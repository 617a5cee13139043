"""The simulator's default behaviour when no script turn applies (documented in docs/simulator.md).

Pure functions from the conversation and the session's tools to the actions of one response:

1. After a ``function_call_output``: speak a sentence containing the output; for a handoff
   output (``{"assistant": ...}``) greet as the new agent with the first sentence of the current
   instructions and, when the user's last text names one of the new agent's function tools,
   call it in the same response (a real model acts on the request it was handed).
2. Else, on the last user text: a handoff tool whose target words (after ``transfer_to_``) all
   appear → call it; else a function tool named by the text (its name, its name with spaces, or
   all its significant words) → call it with arguments synthesised from its JSON Schema;
   else say ``"You said: <text>"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .vocabulary import Action, Call, Say

__all__ = ("HANDOFF_PREFIX", "UnknownForcedTool", "apply_tool_choice", "default_actions", "synthesize_arguments")

HANDOFF_PREFIX = "transfer_to_"
_STOP_WORDS = frozenset({"get", "set", "to", "the"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _words(text: str) -> set[str]:
    return {w.casefold().rstrip("s") for w in _WORD.findall(text)}


def _names_tool(tool_name: str, text: str) -> bool:
    lowered = text.casefold()
    name = tool_name.casefold()
    if name in lowered or name.replace("_", " ") in lowered:
        return True
    significant = [w for w in name.split("_") if w and w not in _STOP_WORDS]
    words = _words(text)
    return bool(significant) and all(w.rstrip("s") in words for w in significant)


def _names_target(tool_name: str, text: str) -> bool:
    target = [w for w in tool_name[len(HANDOFF_PREFIX):].casefold().split("_") if w]
    words = _words(text)
    return bool(target) and all(w.rstrip("s") in words for w in target)


def _explicit(key: str, text: str) -> str | None:
    match = re.search(rf"\b{re.escape(key)}\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)", text)
    if match is None:
        return None
    return match.group(1).strip("\"'")


def _coerce(raw: str, kind: Any) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return raw.casefold() not in ("false", "no", "0")
    return raw


def _value(key: str, schema: Mapping[str, Any], text: str) -> Any:
    kind = schema.get("type")
    explicit = _explicit(key, text)
    if explicit is not None:
        return _coerce(explicit, kind)
    if schema.get("enum"):
        return schema["enum"][0]
    if kind in ("integer", "number"):
        numbers = _NUMBER.findall(text)
        if not numbers:
            return 0
        return int(float(numbers[0])) if kind == "integer" else float(numbers[0])
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    words = _WORD.findall(text)
    capitalised = [w.rstrip("'’") for w in words[1:] if w[0].isupper()]
    return capitalised[-1] if capitalised else key


def synthesize_arguments(parameters: Mapping[str, Any] | None, text: str) -> dict[str, Any]:
    """Arguments for a tool call from its JSON Schema and the user's text.

    Required properties (all properties when ``required`` is absent) get: ``key=value`` from the
    text; else the first enum value; integers/numbers the first number in the text; booleans
    ``true``; strings the last capitalised word that is not the first word, else the key.
    """
    properties = (parameters or {}).get("properties") or {}
    required = (parameters or {}).get("required")
    keys = [k for k in properties if required is None or k in required]
    return {key: _value(key, properties[key] or {}, text) for key in keys}


def _first_sentence(text: str) -> str:
    match = re.search(r"^.*?[.!?](?=\s|$)", text.strip(), re.DOTALL)
    return (match.group(0) if match else text.strip()).strip()


def _tool_call(functions: Sequence[Mapping[str, Any]], user_text: str) -> Call | None:
    for tool in functions:
        if not tool["name"].startswith(HANDOFF_PREFIX) and _names_tool(tool["name"], user_text):
            arguments = synthesize_arguments(tool.get("parameters"), user_text)
            return Call(tool["name"], json.dumps(arguments))
    return None


def _after_tool(item: Mapping[str, Any], call_names: Mapping[str, str], instructions: str,
                functions: Sequence[Mapping[str, Any]], user_text: str | None) -> tuple[Action, ...]:
    output = item.get("output", "")
    try:
        decoded = json.loads(output)
    except (TypeError, ValueError):
        decoded = None
    if isinstance(decoded, dict) and "assistant" in decoded:
        greeting = Say(f"Hi, this is {decoded['assistant']}. {_first_sentence(instructions)}".strip())
        call = _tool_call(functions, user_text) if user_text else None
        return (greeting,) if call is None else (greeting, call)
    name = call_names.get(item.get("call_id", ""), "the tool")
    end = "" if str(output).rstrip().endswith((".", "!", "?")) else "."
    return (Say(f"{name} returned {output}{end}"),)


def default_actions(
    *,
    last_item: Mapping[str, Any] | None,
    user_text: str | None,
    tools: Sequence[Mapping[str, Any]],
    instructions: str,
    call_names: Mapping[str, str],
) -> tuple[Action, ...]:
    """The actions of one response under the default rules (module docstring)."""
    functions = [t for t in tools if t.get("type", "function") == "function" and t.get("name")]
    if last_item is not None and last_item.get("type") == "function_call_output":
        return _after_tool(last_item, call_names, instructions, functions, user_text)
    if user_text is None:
        return (Say("Hello! How can I help you today?"),)
    for tool in functions:
        if tool["name"].startswith(HANDOFF_PREFIX) and _names_target(tool["name"], user_text):
            return (Call(tool["name"], "{}"),)
    call = _tool_call(functions, user_text)
    return (call,) if call is not None else (Say(f"You said: {user_text}"),)


class UnknownForcedTool(Exception):
    """``tool_choice`` forces a function that is not among the response's tools."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def apply_tool_choice(
    actions: tuple[Action, ...],
    *,
    tool_choice: Any,
    tools: Sequence[Mapping[str, Any]],
    user_text: str | None,
    fallback: Callable[[], tuple[Action, ...]],
    scripted: bool = False,
) -> tuple[Action, ...]:
    """The actions a model honouring ``tool_choice`` takes instead of ``actions``.

    ``none``: no function calls (dropped; if nothing is left to say, ``fallback()`` answers, which
    the caller computes without tools). ``required``: at least one call (the first function tool
    when the actions have none; it replaces a default-rule answer, and follows scripted speech).
    ``{"type": "function", "name": X}``: the calls become one call of
    X. ``auto`` and MCP choices leave the actions as they are.

    :raises UnknownForcedTool: the forced function is not among ``tools``.
    """
    functions = [t for t in tools if t.get("type", "function") == "function" and t.get("name")]
    calls = [a for a in actions if isinstance(a, Call)]
    if tool_choice == "none":
        kept = tuple(a for a in actions if not isinstance(a, Call))
        return kept if any(isinstance(a, Say) for a in kept) else fallback()
    if tool_choice == "required":
        if calls or not functions:
            return actions
        tool = functions[0]
        arguments = synthesize_arguments(tool.get("parameters"), user_text or "")
        call = Call(tool["name"], json.dumps(arguments))
        return (*actions, call) if scripted else (call,)
    if isinstance(tool_choice, Mapping) and tool_choice.get("type") == "function":
        name = tool_choice.get("name")
        forced = next((t for t in functions if t["name"] == name), None)
        if forced is None:
            raise UnknownForcedTool(str(name))
        if len(calls) == 1 and calls[0].tool == name:
            return actions
        arguments = synthesize_arguments(forced.get("parameters"), user_text or "")
        kept = tuple(a for a in actions if not isinstance(a, Call))
        return (*kept, Call(forced["name"], json.dumps(arguments)))
    return actions
