"""Load simulator scripts (YAML) into :class:`SimulatorScript`, with located errors.

Format (docs/simulator.md)::

    - match: weather               # optional: substring (case-insensitive) or /regex/
      transcript: "Weather in Paris?"  # optional: what the recogniser hears for user audio
      actions:
        - say: "Let me check."     # or {text, audio_ms?, modality?: audio|text}
        - barge_in: {at_ms: 400}   # the user interrupts 400 ms into the preceding say
        - call: {tool: get_weather, arguments: {city: Paris}}
        - handoff: {agent: billing}   # or {tool: transfer_to_billing}
        - error: {code: server_error, message: "boom", type?: server_error}
        - disconnect: {code: 1011, reason: "gone"}
        - delay_ms: 250
        - dtmf: "1#"               # the caller presses keys (SIP: dtmf_event_received per digit)
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ...errors import ConfigError, Issue
from .vocabulary import Action, BargeIn, Call, Delay, Disconnect, Dtmf, Fail, Handoff, Say, SimulatorScript, Turn

__all__ = ("load_script", "parse_script")

_TURN_KEYS = {"match", "transcript", "actions"}
_ACTION_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required, optional)
    "say": ({"text"}, {"audio_ms", "modality"}),
    "call": ({"tool"}, {"arguments"}),
    "handoff": (set(), {"agent", "tool"}),
    "barge_in": ({"at_ms"}, set()),
    "error": ({"code", "message"}, {"type"}),
    "disconnect": (set(), {"code", "reason"}),
}


class _Bad(Exception):
    def __init__(self, node: Any, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.node, self.path, self.message, self.hint = node, path, message, hint


def _plain(node: Any) -> Any:
    import yaml

    return yaml.safe_load(yaml.serialize(node)) if node is not None else None


def _mapping(node: Any, path: str, what: str) -> dict[str, tuple[Any, Any]]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise _Bad(node, path, f"{what} must be a mapping")
    return {k.value: (k, v) for k, v in node.value}


def _scalar(node: Any, path: str, kind: type, what: str) -> Any:
    value = _plain(node)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(node, path, f"{what} must be {'an integer' if kind is int else 'a string'}, got {value!r}")
    return value


def _action(node: Any, path: str) -> Action:
    import yaml

    fields = _mapping(node, path, "an action")
    if len(fields) != 1:
        raise _Bad(node, path, f"an action has exactly one key, got {sorted(fields)}",
                   "write each action as its own list item: - say: ...")
    kind, (key_node, value) = next(iter(fields.items()))
    where = f"{path}.{kind}"
    if kind == "delay_ms":
        return Delay(_scalar(value, where, int, "delay_ms"))
    if kind == "dtmf":
        digits = str(_plain(value)) if isinstance(value, yaml.ScalarNode) else ""
        if not digits or any(ch not in "0123456789*#ABCD" for ch in digits):
            raise _Bad(value, where, f"dtmf must be keypad digits (0-9, *, #, A-D), got {_plain(value)!r}",
                       'quote them: dtmf: "1#"')
        return Dtmf(digits)
    if kind not in _ACTION_FIELDS:
        raise _Bad(key_node, where, f"unknown action {kind!r}",
                   "use one of: say, call, handoff, barge_in, error, disconnect, delay_ms, dtmf")
    if kind == "say" and isinstance(value, yaml.ScalarNode):
        return Say(str(_plain(value)))
    args = _mapping(value, where, f"'{kind}'")
    required, optional = _ACTION_FIELDS[kind]
    for name, (name_node, _) in args.items():
        if name not in required | optional:
            raise _Bad(name_node, f"{where}.{name}", f"unknown key {name!r} in {kind}",
                       f"allowed: {', '.join(sorted(required | optional))}")
    for name in sorted(required - set(args)):
        raise _Bad(value, where, f"{kind} needs {name!r}")
    get = {name: _plain(v) for name, (_, v) in args.items()}
    if kind == "say":
        modality = get.get("modality")
        if modality not in (None, "audio", "text"):
            raise _Bad(args["modality"][1], f"{where}.modality", "modality must be 'audio' or 'text'")
        audio_ms = get.get("audio_ms")
        if audio_ms is not None and (not isinstance(audio_ms, int) or audio_ms < 0):
            raise _Bad(args["audio_ms"][1], f"{where}.audio_ms", "audio_ms must be a non-negative integer")
        return Say(str(get["text"]), audio_ms, modality)
    if kind == "call":
        arguments = get.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return Call(str(get["tool"]), text)
    if kind == "handoff":
        if ("agent" in get) == ("tool" in get):
            raise _Bad(value, where, "handoff needs exactly one of 'agent' or 'tool'")
        return Handoff(agent=get.get("agent"), tool=get.get("tool"))
    if kind == "barge_in":
        return BargeIn(_scalar(args["at_ms"][1], f"{where}.at_ms", int, "at_ms"))
    if kind == "error":
        return Fail(str(get["code"]), str(get["message"]), str(get.get("type", "invalid_request_error")))
    code = get.get("code", 1011)
    if not isinstance(code, int) or not 1000 <= code <= 4999:
        raise _Bad(args["code"][1], f"{where}.code", "disconnect code must be an integer 1000-4999")
    return Disconnect(code, str(get.get("reason", "")))


def _turn(node: Any, path: str) -> Turn:
    fields = _mapping(node, path, "a turn")
    for name, (name_node, _) in fields.items():
        if name not in _TURN_KEYS:
            raise _Bad(name_node, f"{path}.{name}", f"unknown key {name!r} in a turn",
                       "allowed: match, transcript, actions")
    if "actions" not in fields:
        raise _Bad(node, path, "a turn needs 'actions'")
    match: str | re.Pattern[str] | None = None
    if "match" in fields:
        raw = _scalar(fields["match"][1], f"{path}.match", str, "match")
        if len(raw) > 1 and raw.startswith("/") and raw.endswith("/"):
            try:
                match = re.compile(raw[1:-1], re.IGNORECASE)
            except re.error as exc:
                raise _Bad(fields["match"][1], f"{path}.match", f"bad regex: {exc}") from None
        else:
            match = raw
    transcript = None
    if "transcript" in fields:
        transcript = _scalar(fields["transcript"][1], f"{path}.transcript", str, "transcript")
    actions_node = fields["actions"][1]
    import yaml

    if not isinstance(actions_node, yaml.SequenceNode):
        raise _Bad(actions_node, f"{path}.actions", "actions must be a list")
    actions = tuple(_action(n, f"{path}.actions[{i}]") for i, n in enumerate(actions_node.value))
    for i, action in enumerate(actions):
        if isinstance(action, BargeIn) and (i == 0 or not isinstance(actions[i - 1], Say)):
            raise _Bad(actions_node.value[i], f"{path}.actions[{i}]", "barge_in must follow a say action")
    return Turn(actions=actions, match=match, transcript=transcript)


def parse_script(text: str, *, filename: str = "<script>") -> SimulatorScript:
    """Parse script YAML text. :raises ConfigError: located at file, line and column."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            return SimulatorScript()
        if not isinstance(root, yaml.SequenceNode):
            raise _Bad(root, "$", "a simulator script is a list of turns", "start each turn with '- actions:'")
        return SimulatorScript(tuple(_turn(n, f"$[{i}]") for i, n in enumerate(root.value)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([Issue(
            code="simulator_script", message=f"invalid YAML: {getattr(exc, 'problem', exc)}", file=filename,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
        )]) from None
    except _Bad as bad:
        mark = bad.node.start_mark
        raise ConfigError([Issue(code="simulator_script", message=bad.message, file=filename,
                                 line=mark.line + 1, column=mark.column + 1, path=bad.path,
                                 hint=bad.hint)]) from None


def load_script(path: str | os.PathLike[str]) -> SimulatorScript:
    """Read and parse a script file. :raises ConfigError: unreadable or invalid."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError([Issue(code="simulator_script", message=f"cannot read script: {exc.strerror}",
                                 file=name)]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Issue(code="simulator_script", message="not UTF-8 text", file=name,
                                 line=data[:exc.start].count(b"\n") + 1, column=1)]) from None
    return parse_script(text, filename=name)
