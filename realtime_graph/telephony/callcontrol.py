"""Built-in call-control tools an agent lists under ``call_control``: ``hangup`` and transfers.

They are function tools like any other for the model; instead of user code the runtime runs them
through the session's ``CallControl`` (``realtime_graph.runtime.call_control``), which the SIP
channel backs with ``CallsClient.hangup`` / ``CallsClient.refer``. This module is the validating
constructor (for graphs built in Python). The tool
takes no arguments: the transfer target is fixed in YAML, never chosen by the model or caller.

YAML (an agent document)::

    call_control:
      hangup: true                       # or {description: "..."}
      transfer:
        - name: transfer_to_sales
          target: tel:+14155550123       # or sip:sales@example.com
          description: Transfer the caller to a human in sales.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.telephony_checks import HANGUP_TOOL, transfer_target_problem
from ..errors import ConfigError, Issue
from ..runtime import DEFAULT_HANGUP_DESCRIPTION, ControlTool

__all__ = (
    "DEFAULT_HANGUP_DESCRIPTION",
    "HANGUP_TOOL",
    "CallControlTool",
    "call_control_tools",
    "hangup_tool",
    "transfer_tool",
)

CallControlTool = ControlTool
"""A built-in tool (the runtime's :class:`~realtime_graph.runtime.ControlTool`, which runs it)."""


def _bad(message: str, path: str, code: str = "RG110") -> ConfigError:
    return ConfigError([Issue(code=code, message=message, path=path)])


def hangup_tool(description: str | None = None) -> CallControlTool:
    """The ``hangup`` tool."""
    return CallControlTool.for_hangup(description)


def transfer_tool(name: str, target: str, description: str | None = None) -> CallControlTool:
    """A transfer to ``target`` (validated).

    :raises ConfigError: ``RG604`` when the target is not a ``tel:``/``sip:`` URI.
    """
    problem = transfer_target_problem(target)
    if problem:
        raise _bad(problem, "$.call_control.transfer", "RG604")
    return CallControlTool.for_transfer(name, target, description)


def call_control_tools(call_control: Mapping[str, Any]) -> tuple[CallControlTool, ...]:
    """The tools an agent's ``call_control`` mapping declares, hangup first.

    :raises ConfigError: a malformed mapping (one that did not come through the loader) or an
        invalid transfer target.
    """
    tools: list[CallControlTool] = []
    hangup = call_control.get("hangup", False)
    if isinstance(hangup, Mapping):
        tools.append(hangup_tool(hangup.get("description")))
    elif hangup is True:
        tools.append(hangup_tool())
    elif hangup is not False:
        raise _bad("call_control.hangup is true, false or {description: ...}", "$.call_control.hangup")
    for i, entry in enumerate(call_control.get("transfer", ())):
        path = f"$.call_control.transfer[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("target"), str):
            raise _bad("a transfer needs a `name` and a `target`", path)
        try:
            tools.append(transfer_tool(entry["name"], entry["target"], entry.get("description")))
        except ConfigError as exc:
            raise ConfigError([Issue(code=i.code, message=i.message, path=f"{path}.target")
                               for i in exc.issues]) from None
    names = [t.name for t in tools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad(f"call-control tool name(s) used twice: {', '.join(dupes)}", "$.call_control", "RG605")
    return tuple(tools)
