"""Call conventions of entrypoints: ours and the OpenAI Agents SDK's shapes, matched at load.

The runtime calls every entrypoint with *our* convention (docs/architecture.md, "Entrypoint call
conventions"). A function written for the SDK (``guardrail(context, agent, output)``,
``needs_approval(context, params, call_id)``, ``on_tool_start(context, agent, tool)``, ...) is
matched here by the positional arguments it accepts and wrapped in an adapter with our
convention, so neither the runtime nor the graph model knows about the SDK. The SDK is not needed:
``context`` is our :class:`~realtime_graph.graph.model.CallContext`, whose ``.context`` is the
session's context mapping, as ``RunContextWrapper.context`` is in the SDK.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .typeschema import convert

if TYPE_CHECKING:
    from ..graph.model import Graph

__all__ = ("SHAPES", "AgentRef", "Shape", "accepted", "adapt_call", "call_adapter", "convention_lines",
           "is_async_callable", "match_shape", "tool_adapter")


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The ``agent`` argument of SDK-shaped guardrails and approvals: the active agent's name."""

    name: str


@dataclass(frozen=True, slots=True)
class Shape:
    """One accepted call shape: how many positional arguments, how the docs write it, whose."""

    arity: int
    text: str
    sdk: bool = False

    @property
    def label(self) -> str:
        return f"{self.text} (SDK)" if self.sdk else self.text


# role -> accepted shapes, ours first (a function that fits both is called our way)
SHAPES: dict[str, tuple[Shape, ...]] = {
    "needs_approval": (Shape(2, "fn(arguments, context) -> bool"),
                       Shape(3, "fn(context, params, call_id) -> bool", True)),
    "on_handoff": (Shape(1, "fn(context)"),),
    "on_handoff_input": (Shape(2, "fn(context, input)"),),
    "guardrail": (Shape(2, "fn(text, context)"), Shape(3, "fn(context, agent, output)", True)),
    "tool_error_formatter": (Shape(1, "fn(info) -> str | None"),),
    "on_agent_start": (Shape(1, "fn(event)"), Shape(2, "fn(context, agent)", True)),
    "on_agent_end": (Shape(1, "fn(event)"), Shape(3, "fn(context, agent, output)", True)),
    "on_tool_start": (Shape(1, "fn(event)"), Shape(3, "fn(context, agent, tool)", True)),
    "on_tool_end": (Shape(1, "fn(event)"), Shape(4, "fn(context, agent, tool, result)", True)),
    "on_handoff_hook": (Shape(1, "fn(event)"), Shape(3, "fn(context, from_agent, to_agent)", True)),
    "hook": (Shape(1, "fn(event)"),),  # any hook, our shape only (the role before per-hook roles)
    # dynamic instructions, handoff enabled / input_filter: the SDK's
    # shapes are the only ones, so nothing is adapted
    "instructions": (Shape(2, "fn(context, agent) -> str"),),
    "enabled": (Shape(2, "fn(context, agent) -> bool"),),
    "input_filter": (Shape(1, "fn(handoff_input_data)"),),
}


def accepted(role: str) -> str:
    """The accepted signatures of ``role``, for a hint: ``fn(text, context) or fn(context, agent, output) (SDK)``."""
    return " or ".join(s.label for s in SHAPES[role])


def match_shape(role: str, signature: inspect.Signature | None) -> Shape | None:
    """The first shape of ``role`` the signature accepts; ours when there is no signature to read."""
    shapes = SHAPES[role]
    if signature is None:
        return shapes[0]
    for shape in shapes:
        try:
            signature.bind(*range(shape.arity))
        except TypeError:
            continue
        return shape
    return None


def is_async_callable(target: Any) -> bool:
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None))  # noqa: B004 (the method, not callability)


def call_adapter(fn: Callable[..., Any], translate: Callable[..., tuple[tuple[Any, ...], dict[str, Any]]],
                 module: str, name: str) -> Callable[..., Any]:
    """``fn`` behind ``translate`` (our arguments → ``fn`` 's), async exactly when ``fn`` is.

    The adapter claims ``module`` (the entrypoint's) so hot reload still watches the user's file.
    """
    if is_async_callable(fn):
        async def adapter(*args: Any, **kwargs: Any) -> Any:
            call_args, call_kwargs = translate(*args, **kwargs)
            return await fn(*call_args, **call_kwargs)
    else:
        def adapter(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            call_args, call_kwargs = translate(*args, **kwargs)
            return fn(*call_args, **call_kwargs)
    adapter.__module__, adapter.__name__, adapter.__qualname__ = module, name, name
    return adapter


def _hook_tool(event: Any) -> Any:
    agent = event.agent
    found = agent.tool(event.tool) if hasattr(agent, "tool") else None
    return found if found is not None else event.tool


# hook -> the SDK's arguments after `context`, from our event
HOOK_ARGUMENTS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "on_agent_start": lambda e: (e.agent,),
    "on_agent_end": lambda e: (e.agent, None),  # a realtime response has no "final output" object
    "on_tool_start": lambda e: (e.agent, _hook_tool(e)),
    "on_tool_end": lambda e: (e.agent, _hook_tool(e), e.output),
    "on_handoff": lambda e: (e.from_agent, e.to_agent),
}


def adapt_call(role: str, shape: Shape, fn: Callable[..., Any], ref: str) -> Callable[..., Any]:
    """``fn`` callable with our convention for ``role`` (itself when ``shape`` is ours)."""
    if not shape.sdk:
        return fn
    module, name = ref.partition(":")[0], ref.rpartition(":")[2]

    def translate(*args: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if role == "needs_approval":
            arguments, context = args
            return (context, arguments, context.call_id), {}
        if role == "guardrail":
            text, context = args
            return (context, AgentRef(context.agent), text), {}
        event, context = args  # a hook: the runtime adds the context (Entrypoint.takes_context)
        hook = "on_handoff" if role == "on_handoff_hook" else role
        return (context, *HOOK_ARGUMENTS[hook](event)), {}

    return call_adapter(fn, translate, module, name)


def tool_adapter(fn: Callable[..., Any], ref: str, context_param: str | None, positional_context: bool,
                 conversions: Mapping[str, Any]) -> Callable[..., Any]:
    """A tool function called our way (keyword arguments, the context as ``context=``): the context
    goes to ``context_param`` and values of dataclass / pydantic parameters are converted."""
    if context_param in (None, "context") and not positional_context and not conversions:
        return fn

    def translate(**kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        context = kwargs.pop("context", None)
        for name, hint in conversions.items():
            if name in kwargs:
                kwargs[name] = convert(hint, kwargs[name])
        if context_param is None:
            return (), kwargs
        if positional_context:
            return (context,), kwargs
        kwargs[context_param] = context
        return (), kwargs

    return call_adapter(fn, translate, ref.partition(":")[0], ref.rpartition(":")[2])


def convention_lines(graph: Graph) -> list[str]:
    """One line per entrypoint: where it is declared, what it names, how it is called
    (``rtgraph validate --verbose``)."""
    from ..graph.model import Entrypoint

    def hooks(owner: str, h: Any) -> list[tuple[str, Any]]:
        return [(f"{owner} hooks.{n}", getattr(h, n))
                for n in ("on_agent_start", "on_agent_end", "on_tool_start", "on_tool_end", "on_handoff")]

    found: list[tuple[str, Any]] = [("graph run.tool_error_formatter", graph.run.tool_error_formatter)]
    found += hooks("graph", graph.hooks)
    found += [(f"graph guardrail {g.name}", g.entrypoint) for g in graph.output_guardrails]
    for agent in graph.agents.values():
        for tool in agent.tools:
            found += [(f"{agent.name} tool {tool.name}", tool.entrypoint),
                      (f"{agent.name} tool {tool.name} needs_approval", tool.needs_approval)]
        found += [(f"{agent.name} handoff {h.tool_name} on_handoff", h.on_handoff) for h in agent.handoffs]
        found += [(f"{agent.name} guardrail {g.name}", g.entrypoint) for g in agent.output_guardrails]
        found += hooks(agent.name, agent.hooks)
    lines = []
    for what, entrypoint in found:
        if not isinstance(entrypoint, Entrypoint):
            continue
        where = f"{entrypoint.location.file}:{entrypoint.location.line}:{entrypoint.location.column}: " \
            if entrypoint.location is not None else ""
        lines.append(f"{where}{what}: {entrypoint.ref} as {entrypoint.convention or 'not imported (--no-import)'}")
    return lines
