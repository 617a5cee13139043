"""Function calls from the model: tools, approvals, handoffs, unknown names.

A call is dispatched when ``response.output_item.done`` carries a completed ``function_call``
(duplicates by ``call_id`` are ignored), with the agent that was active at that moment. With
``run.async_tool_calls`` (default) each call runs as a task of the session's task group, so the
reader never waits for user code; otherwise it runs inline.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import SessionError
from ..graph.model import Agent, Entrypoint, Handoff, Tool, ToolErrorInfo
from ..transports import protocol
from . import events as ev
from .agent_switch import AgentSwitch
from .call_control import CallControl, ControlCalls, control_tool
from .seam import Seam
from .state import SessionState
from .tools import call_entrypoint, describe, format_tool_error, parse_arguments, run_tool

__all__ = ("ToolCalls",)

REJECTED = "Tool execution was not approved."


class ToolCalls:
    """Tool-call state of one session: running count, parked approvals, sticky decisions."""

    def __init__(self, state: SessionState, seam: Seam, switch: AgentSwitch,
                 settle: Callable[[], Awaitable[None]], call_control: CallControl | None = None) -> None:
        self._state = state
        self._control = ControlCalls(state, seam, call_control, self.send_output)
        self._seam = seam
        self._switch = switch
        self._settle = settle
        self._seen: set[str] = set()
        self.running = 0
        self.parked: dict[str, tuple[Agent, Tool, str]] = {}
        self.sticky: dict[str, bool] = {}

    @property
    def busy(self) -> bool:
        return self.running > 0 or bool(self.parked)

    async def dispatch(self, agent: Agent, item: Mapping[str, Any]) -> None:
        call_id = item.get("call_id") or ""
        if call_id in self._seen:
            return
        self._seen.add(call_id)
        name, arguments = item.get("name") or "", item.get("arguments") or ""
        self.running += 1
        # A hangup waits for its own response to finish: never inline in the reader.
        if self._state.graph.run.async_tool_calls or control_tool(agent, name) is not None:
            self._seam.start_soon(self._counted, self._handle, agent, name, call_id, arguments)
        else:
            await self._counted(self._handle, agent, name, call_id, arguments)

    async def _counted(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``fn`` as one in-flight call (counted in ``running`` by the caller), then settle."""
        try:
            await fn(*args)
        finally:
            self.running -= 1
            await self._settle()

    async def _handle(self, agent: Agent, name: str, call_id: str, arguments: str) -> None:
        target = agent.tool(name)
        if target is not None and not self._switch.offers(agent, target):
            target = None  # disabled, or its `enabled` / `is_enabled` left it out of the last session.update
        control = control_tool(agent, name) if target is None else None
        if control is not None:
            await self._control.run(agent, control, call_id, arguments)
        elif target is None:
            await self._unknown(agent, name, call_id)
        elif isinstance(target, Handoff):
            await self._handoff(agent, target, call_id, arguments)
        elif await self._needs_approval(agent, target, call_id, arguments):
            self.parked[call_id] = (agent, target, arguments)
            self._seam.emit(ev.ToolApprovalRequiredEvent(agent=agent, tool=name, call_id=call_id,
                                                      arguments=arguments))
        elif self.sticky.get(name) is False:
            await self._reject(agent, target, call_id, arguments, None)
        else:
            await self._run(agent, target, call_id, arguments)

    async def _needs_approval(self, agent: Agent, tool: Tool, call_id: str, arguments: str) -> bool:
        needs = tool.needs_approval
        if needs is False or tool.name in self.sticky:
            return False
        if not isinstance(needs, Entrypoint):
            return bool(needs)
        parsed = parse_arguments(tool, arguments)
        if isinstance(parsed, str):
            return False  # unusable arguments: nothing would run; run_tool tells the model why
        try:
            return bool(await call_entrypoint(needs, parsed, self._seam.call_context(agent, tool.name, call_id)))
        except Exception as exc:  # fail closed: an unanswerable check means "ask a human"
            self._seam.error(f"needs_approval check for tool {tool.name!r} failed ({describe(exc)}); "
                          f"asking for approval", tool=tool.name, call_id=call_id)
            return True

    async def send_output(self, call_id: str, text: str, *, respond: bool = True) -> None:
        """``function_call_output`` then (unless ``respond`` is false) a sequenced ``response.create``."""
        await self._seam.send(protocol.function_call_output(call_id, text))
        item = self._state.history.set_tool_output(call_id, text)
        if item is not None:
            self._seam.emit(ev.HistoryUpdatedEvent(history=self._state.history.items))
        if respond:
            await self._seam.request_response()

    async def _run(self, agent: Agent, tool: Tool, call_id: str, arguments: str) -> None:
        start = ev.ToolStartEvent(agent=agent, tool=tool.name, call_id=call_id, arguments=arguments)
        self._seam.emit(start)
        await self._seam.run_hooks("on_tool_start", agent, start)
        context = self._seam.call_context(agent, tool.name, call_id)
        run = self._state.graph.run
        outcome, problem = await run_tool(tool, arguments, context, run.tool_error_formatter,
                                          max_output_chars=run.tool_max_output_chars)
        if outcome.error is not None:
            self._seam.error(outcome.error.default_message, kind=outcome.error.kind, tool=tool.name, call_id=call_id)
        if problem:
            self._seam.error(problem, tool=tool.name, call_id=call_id)
        await self.send_output(call_id, outcome.text)
        end = ev.ToolEndEvent(agent=agent, tool=tool.name, call_id=call_id, arguments=arguments,
                              output=outcome.value)
        self._seam.emit(end)
        await self._seam.run_hooks("on_tool_end", agent, end)

    async def _unknown(self, agent: Agent, name: str, call_id: str) -> None:
        # The SDK sends this output without response.create, leaving the model silent; we answer.
        message = f"Tool {name} not found"
        text, problem = await format_tool_error(self._state.graph.run.tool_error_formatter,
                                                ToolErrorInfo("unknown_tool", name, call_id, message))
        self._seam.error(message, kind="unknown_tool", tool=name, call_id=call_id, agent=agent.name)
        if problem:
            self._seam.error(problem, tool=name, call_id=call_id)
        await self.send_output(call_id, text)

    async def _reject(self, agent: Agent, tool: Tool, call_id: str, arguments: str, message: str | None) -> None:
        text = message
        if text is None:
            text, problem = await format_tool_error(
                self._state.graph.run.tool_error_formatter,
                ToolErrorInfo("approval_rejected", tool.name, call_id, REJECTED))
            if problem:
                self._seam.error(problem, tool=tool.name, call_id=call_id)
        await self.send_output(call_id, text)
        end = ev.ToolEndEvent(agent=agent, tool=tool.name, call_id=call_id, arguments=arguments, output=text)
        self._seam.emit(end)
        await self._seam.run_hooks("on_tool_end", agent, end)

    def _take_parked(self, call_id: str, always: bool, decision: bool) -> tuple[Agent, Tool, str]:
        parked = self.parked.pop(call_id, None)
        if parked is None:
            waiting = ", ".join(self.parked) or "none"
            raise SessionError(f"no tool call {call_id!r} is waiting for approval (waiting: {waiting})")
        if always:
            self.sticky[parked[1].name] = decision
        self.running += 1
        return parked

    async def approve(self, call_id: str, always: bool) -> None:
        agent, tool, arguments = self._take_parked(call_id, always, True)
        self._seam.start_soon(self._counted, self._run, agent, tool, call_id, arguments)

    async def reject(self, call_id: str, always: bool, message: str | None) -> None:
        agent, tool, arguments = self._take_parked(call_id, always, False)
        await self._counted(self._reject, agent, tool, call_id, arguments, message)

    async def _handoff(self, agent: Agent, handoff: Handoff, call_id: str, arguments: str) -> None:
        try:
            target = self._state.graph.agents.get(handoff.target)
            if target is None:  # a hand-built graph; the loader reports this as RG205
                raise SessionError(f"agent {handoff.target!r} is not in the graph")
            if handoff.on_handoff is not None:
                context = self._seam.call_context(agent, handoff.tool_name, call_id)
                if handoff.parameters is None:
                    await call_entrypoint(handoff.on_handoff, context)
                else:  # input_type: the adapter converts the arguments (raising = no handoff)
                    parsed = json.loads(arguments or "{}")
                    if not isinstance(parsed, dict):
                        raise SessionError("handoff arguments are not a JSON object")
                    await call_entrypoint(handoff.on_handoff, context, parsed)
            switch = await self._switch.prepare(target)
        except Exception as exc:  # user code, template or tool names: the handoff does not happen
            problem = str(exc) if isinstance(exc, SessionError) else describe(exc)
            self._seam.error(f"handoff to {handoff.target!r} failed: {problem}", call_id=call_id)
            await self.send_output(call_id, f"Handoff to {handoff.target} failed.")
            return
        await self._switch.commit(switch)
        event = ev.HandoffEvent(from_agent=agent, to_agent=target)
        self._seam.emit(event)
        await self._seam.run_hooks("on_handoff", agent, event)
        await self.send_output(call_id, json.dumps({"assistant": target.name}))
