"""OpenAI Agents SDK objects as entrypoints: ``FunctionTool``, ``OutputGuardrail``, hooks objects.

An object is an SDK object when a class in its type's MRO comes from the ``agents`` package; only
then is ``agents`` imported (it already is, since the object exists), so base installs never
need it. Each object becomes an adapter with our call convention (the runtime and the graph
model stay free of SDK types), which calls the object through its own path with a real SDK
context whose ``.context`` is the session's context mapping:

- ``FunctionTool``: ``invoke_function_tool`` (its ``on_invoke_tool``, timeout and failure function)
  with a ``ToolContext``;
- ``OutputGuardrail`` (``@output_guardrail``): ``run(RunContextWrapper, agent, text)``; its
  ``GuardrailFunctionOutput`` is the verdict;
- hooks objects (``RunHooks`` / ``RealtimeRunHooks`` and ``AgentHooks`` / ``RealtimeAgentHooks``
  method names, SDK subclasses or plain objects): each overridden method becomes one hook.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .callshapes import HOOK_ARGUMENTS, AgentRef, call_adapter, is_async_callable
from .typeschema import is_pydantic_model

__all__ = ("HookMethod", "SdkTool", "function_tool_parts", "guardrail_adapter", "hook_methods", "is_sdk_object",
           "sdk_kind")


def _sdk_classes(obj: Any) -> list[type]:
    return [k for k in type(obj).__mro__ if k.__module__ == "agents" or k.__module__.startswith("agents.")]


def is_sdk_object(obj: Any) -> bool:
    """Whether ``obj`` 's type comes from (or derives from a class of) the ``agents`` package."""
    return bool(_sdk_classes(obj))


def sdk_kind(obj: Any) -> str | None:
    """``function_tool``, ``output_guardrail``, ``run_hooks``, ``agent_hooks`` or None."""
    names = {k.__name__ for k in _sdk_classes(obj)}
    for name, kind in (("FunctionTool", "function_tool"), ("OutputGuardrail", "output_guardrail"),
                       ("RunHooksBase", "run_hooks"), ("AgentHooksBase", "agent_hooks")):
        if name in names:
            return kind
    return None


def _run_context(call_context: Any) -> Any:
    from agents.run_context import RunContextWrapper

    return RunContextWrapper(context=call_context.context)


def _tool_context(call_context: Any, tool_name: str, call_id: str, arguments: str) -> Any:
    from agents.tool_context import ToolContext

    return ToolContext(context=call_context.context, tool_name=tool_name, tool_call_id=call_id,
                       tool_arguments=arguments)


def _plain_output(value: Any) -> Any:
    """A pydantic model returned by a tool as JSON data (as the SDK serialises it)."""
    if is_pydantic_model(type(value)):
        return value.model_dump(mode="json")
    return value


@dataclass(frozen=True, slots=True)
class SdkTool:
    """What a ``FunctionTool`` contributes to our :class:`~realtime_graph.graph.model.Tool`."""

    name: str
    description: str
    parameters: dict[str, Any]
    call: Callable[..., Any]
    """``async call(context=CallContext, **arguments)``: our tool convention."""
    needs_approval: bool | Callable[..., Any]
    """The tool's own ``needs_approval``: a bool, or ``async fn(arguments, context)`` (ours)."""
    enabled: bool | Callable[..., Any] = True
    """The tool's own ``is_enabled``: a bool, or ``fn(context, agent)`` (ours) around its callable."""


def function_tool_parts(tool: Any, ref: str) -> SdkTool:
    """Name, description, schema and adapters of a ``FunctionTool``."""
    module = ref.partition(":")[0]

    async def call(**kwargs: Any) -> Any:
        from agents.tool import invoke_function_tool

        call_context = kwargs.pop("context")
        arguments = json.dumps(kwargs, ensure_ascii=False)
        context = _tool_context(call_context, tool.name, call_context.call_id or "", arguments)
        result = await invoke_function_tool(function_tool=tool, context=context, arguments=arguments)
        return _plain_output(result)

    call.__module__, call.__name__ = module, tool.name
    approval: bool | Callable[..., Any] = tool.needs_approval if isinstance(tool.needs_approval, bool) else False
    policy = tool.needs_approval
    if callable(policy):
        def translate(arguments: dict[str, Any], context: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (_run_context(context), arguments, context.call_id or ""), {}

        approval = call_adapter(policy, translate, module, f"{tool.name}.needs_approval")
    enabled: bool | Callable[..., Any] = bool(tool.is_enabled) if not callable(tool.is_enabled) else True
    if callable(tool.is_enabled):
        def translate_enabled(context: Any, agent: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (_run_context(context), agent), {}

        enabled = call_adapter(tool.is_enabled, translate_enabled, module, f"{tool.name}.is_enabled")
    return SdkTool(tool.name, tool.description or "", dict(tool.params_json_schema), call, approval, enabled)


def guardrail_adapter(guardrail: Any, ref: str) -> Callable[..., Any]:
    """``async check(text, context)`` running the ``OutputGuardrail`` and returning its
    ``GuardrailFunctionOutput`` (a verdict: ``tripwire_triggered`` + ``output_info``)."""

    async def check(text: str, context: Any) -> Any:
        result = await guardrail.run(_run_context(context), AgentRef(context.agent), text)
        return result.output

    check.__module__, check.__name__ = ref.partition(":")[0], guardrail.get_name()
    return check


@dataclass(frozen=True, slots=True)
class HookMethod:
    """One hook of a hooks object: our hook name, the adapter ``fn(event, context)``, its shape."""

    hook: str
    call: Callable[..., Any]
    is_async: bool
    method: str
    arity: int
    arguments: str
    """How the method is called, e.g. ``(context, agent, source)``."""


# our hook -> (RunHooks method, AgentHooks method), with the positional arguments each takes
_METHODS = {
    "on_agent_start": ("on_agent_start", "on_start", 2),
    "on_agent_end": ("on_agent_end", "on_end", 3),
    "on_tool_start": ("on_tool_start", "on_tool_start", 3),
    "on_tool_end": ("on_tool_end", "on_tool_end", 4),
    "on_handoff": ("on_handoff", "on_handoff", 3),
}


_ARGUMENTS = {"on_agent_start": "(context, agent)", "on_agent_end": "(context, agent, output)",
              "on_tool_start": "(context, agent, tool)", "on_tool_end": "(context, agent, tool, result)",
              "on_handoff": "(context, from_agent, to_agent)", "on_handoff_agent": "(context, agent, source)"}


def _overridden(obj: Any, name: str) -> bool:
    """A method the user wrote (the SDK base classes' methods do nothing)."""
    for klass in type(obj).__mro__:
        if name in vars(klass):
            return not (klass.__module__ == "agents" or klass.__module__.startswith("agents."))
    return name in vars(obj)


def hook_methods(obj: Any, ref: str) -> list[HookMethod]:
    """The hooks an object defines, as adapters our runtime calls with ``(event, context)``.

    ``AgentHooks`` style (``on_start`` / ``on_end``, or an ``AgentHooksBase``) calls
    ``on_handoff(context, agent=the new agent, source=the previous one)``; ``RunHooks`` style calls
    ``on_handoff(context, from_agent, to_agent)``.
    """
    kind = sdk_kind(obj)
    agent_style = kind == "agent_hooks" or (kind is None and (hasattr(obj, "on_start") or hasattr(obj, "on_end")))
    sdk = kind is not None
    found: list[HookMethod] = []
    for hook, (run_name, agent_name, arity) in _METHODS.items():
        name = agent_name if agent_style else run_name
        method = getattr(obj, name, None)
        if method is None or not callable(method) or not _overridden(obj, name):
            continue

        def translate(event: Any, context: Any, hook: str = hook) -> tuple[tuple[Any, ...], dict[str, Any]]:
            extra = HOOK_ARGUMENTS[hook](event)
            if hook == "on_handoff" and agent_style:
                extra = (extra[1], extra[0])  # (agent handed to, source)
            if sdk and hook in ("on_tool_start", "on_tool_end"):
                context = _tool_context(context, event.tool, event.call_id, event.arguments)
            elif sdk:
                context = _run_context(context)
            return (context, *extra), {}

        adapter = call_adapter(method, translate, ref.partition(":")[0], f"{ref.rpartition(':')[2]}.{name}")
        found.append(HookMethod(hook, adapter, is_async_callable(method), name, arity, _ARGUMENTS[
            "on_handoff_agent" if hook == "on_handoff" and agent_style else hook]))
    return found

