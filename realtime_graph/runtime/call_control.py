"""Built-in call-control tools (``hangup``, transfers) executed by the runtime through a narrow seam.

An agent lists them under ``call_control`` (validated by the loader, RG604/RG605). They reach the
model like any function tool (in ``session.update`` and, for SIP, in the accept body). When the
model calls one, the runtime acts on the call through the :class:`CallControl` object the session
was given (``Runner.run(call_control=...)``); the SIP channel of ``rtgraph serve`` provides one
backed by the Calls API (``refer`` / ``hangup``). The runtime never imports telephony code.

Semantics (docs/telephony.md):

- ``transfer``: ``await control.transfer(target)`` with the YAML target (the model never chooses
  it); the output tells the model the transfer started, then ``response.create`` as usual.
- ``hangup``: wait until the response that called it is done and its audio has been played (a
  call's ``output_audio_buffer.stopped``, and the playback tracker; at most :data:`GOODBYE_LIMIT`
  seconds), send the tool output (no new
  response: nobody is left to hear it), ``await control.hangup()``, then close the connection so
  the session ends cleanly (its event stream finishes, no error).
- Without a call (browser, ``rtgraph run``) or when the call operation fails, the model is told
  so in the tool output (and an ``error`` event reports a failure); the session goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import anyio

from ..graph.model import Agent
from . import events as ev
from .seam import Seam
from .state import SessionState
from .tools import describe

__all__ = (
    "DEFAULT_HANGUP_DESCRIPTION",
    "GOODBYE_LIMIT",
    "HANGUP_TOOL",
    "CallControl",
    "ControlCalls",
    "ControlTool",
    "control_tool",
    "control_tools",
    "no_call_message",
)

HANGUP_TOOL = "hangup"
DEFAULT_HANGUP_DESCRIPTION = ("End the phone call. Use it only after saying goodbye, or when the caller "
                              "asks to hang up.")
GOODBYE_LIMIT = 15.0
"""Longest wait (seconds) for the goodbye audio before a ``hangup`` goes ahead anyway."""
_NO_ARGS: Mapping[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


class CallControl(Protocol):
    """What the runtime may do to the phone call a session is attached to."""

    async def hangup(self) -> None:
        """End the call."""

    async def transfer(self, target: str) -> None:
        """Transfer the caller to ``target`` (a ``tel:`` or ``sip:`` URI)."""


@dataclass(frozen=True, slots=True)
class ControlTool:
    """A built-in tool: ``action`` is what running it does to the call."""

    name: str
    description: str
    action: Literal["hangup", "transfer"]
    target: str | None = None

    @classmethod
    def for_hangup(cls, description: str | None = None) -> ControlTool:
        """The ``hangup`` tool (``description`` default: :data:`DEFAULT_HANGUP_DESCRIPTION`)."""
        return cls(HANGUP_TOOL, description or DEFAULT_HANGUP_DESCRIPTION, "hangup")

    @classmethod
    def for_transfer(cls, name: str, target: str, description: str | None = None) -> ControlTool:
        """A transfer tool named ``name`` to ``target`` (not validated here: the loader does)."""
        return cls(name, description or f"Transfer the call ({name}).", "transfer", target)

    def to_wire(self) -> dict[str, Any]:
        """The GA function-tool object (no arguments: the target is fixed in YAML)."""
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": dict(_NO_ARGS)}


def control_tools(agent: Agent) -> tuple[ControlTool, ...]:
    """The call-control tools ``agent`` declares, hangup first (the mapping was validated)."""
    control = agent.call_control
    if not control:
        return ()
    tools: list[ControlTool] = []
    hangup = control.get("hangup", False)
    if hangup:
        tools.append(ControlTool.for_hangup(hangup.get("description") if isinstance(hangup, Mapping) else None))
    for entry in control.get("transfer", ()):
        tools.append(ControlTool.for_transfer(entry["name"], entry["target"], entry.get("description")))
    return tuple(tools)


def control_tool(agent: Agent, name: str) -> ControlTool | None:
    """The call-control tool ``name`` of ``agent``, if it declares one."""
    if not agent.call_control:
        return None
    return next((t for t in control_tools(agent) if t.name == name), None)


def no_call_message(tool: ControlTool) -> str:
    """What the model is told when a call-control tool runs outside a phone call."""
    what = "hang up" if tool.action == "hangup" else "transfer the call"
    return (f"{tool.name} is not available: this session is not a phone call, so there is no call to {what}. "
            f"Tell the user you cannot do that here.")


class ControlCalls:
    """Runs the call-control tools of one session."""

    def __init__(self, state: SessionState, seam: Seam, control: CallControl | None,
                 send_output: Callable[..., Awaitable[None]]) -> None:
        self._state = state
        self._seam = seam
        self._control = control
        self._send_output = send_output

    async def run(self, agent: Agent, tool: ControlTool, call_id: str, arguments: str) -> None:
        start = ev.ToolStartEvent(agent=agent, tool=tool.name, call_id=call_id, arguments=arguments)
        self._seam.emit(start)
        await self._seam.run_hooks("on_tool_start", agent, start)
        hung_up = False
        if self._control is None:
            text = no_call_message(tool)
            await self._send_output(call_id, text)
        elif tool.action == "transfer":
            text = await self._act(tool, call_id, lambda c: c.transfer(tool.target or ""),
                                   f"The call is being transferred ({tool.target}).")
            await self._send_output(call_id, text)
        else:
            await self._goodbye_played()
            # The output goes first: once the call ends, the sideband connection may be gone.
            text = "The call was ended."
            await self._send_output(call_id, text, respond=False)
            failure = await self._act(tool, call_id, lambda c: c.hangup(), "")
            hung_up = not failure
            if failure:
                text = failure
                await self._send_output(call_id, failure)
        end = ev.ToolEndEvent(agent=agent, tool=tool.name, call_id=call_id, arguments=arguments, output=text)
        self._seam.emit(end)
        await self._seam.run_hooks("on_tool_end", agent, end)
        if hung_up:
            await self._seam.close_connection()

    async def _act(self, tool: ControlTool, call_id: str, action: Callable[[CallControl], Awaitable[None]],
                   ok: str) -> str:
        assert self._control is not None
        try:
            await action(self._control)
        except Exception as exc:  # the call API failed: the model hears it, the app gets an error event
            self._seam.error(f"call control {tool.name} failed: {describe(exc)}", kind="call_control",
                             tool=tool.name, call_id=call_id)
            return f"{tool.name} failed: the phone system did not accept the request."
        return ok

    async def _goodbye_played(self) -> None:
        """Until the response carrying the hangup is done and its audio has played (bounded)."""
        state = self._state
        with anyio.move_on_after(GOODBYE_LIMIT):
            # A call reports its own playback (output_audio_buffer.*); else the tracker estimates it.
            while state.streaming() is not None or state.buffer_playing:
                await anyio.sleep(0.02)
            while True:
                playing = state.playback.state()
                if playing is None or playing.finished:
                    return
                await anyio.sleep(min(max(playing.received_ms - playing.played_ms, 10.0), 200.0) / 1000)
