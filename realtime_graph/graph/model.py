"""The immutable agent graph: what the loader produces and every session runs.

Everything here is frozen. Mappings are read-only (:class:`types.MappingProxyType`) and
sequences are tuples, so a :class:`Graph` can be shared by many live sessions and swapped
atomically on hot reload without anyone seeing a half-applied state. JSON-shaped values
(tool parameter schemas, session settings) are deep-frozen with :func:`freeze`; use
:func:`thaw` to get plain ``dict``/``list`` copies for the wire.

The leaves (secrets, entrypoints, frozen data) live in :mod:`.references` and the runner-side
sections (``run``, ``transport``, ``serve``) in :mod:`.graph_settings`; both are re-exported here,
so ``from realtime_graph.graph.model import ...`` keeps working for every name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .graph_settings import ReconnectSettings, RunSettings, ServeSettings, TransportSettings
from .references import EMPTY, ENV_REFERENCE, Entrypoint, Secret, SourceLocation, freeze, thaw

__all__ = (
    "DEFAULT_OUTPUT_MODALITIES",
    "DEFAULT_VOICE",
    "ENV_REFERENCE",
    "Agent",
    "CallContext",
    "DtmfRoute",
    "Entrypoint",
    "Graph",
    "Guardrail",
    "GuardrailResult",
    "Handoff",
    "Hooks",
    "InstructionTemplate",
    "ReconnectSettings",
    "RunSettings",
    "Secret",
    "ServeSettings",
    "SourceLocation",
    "Tool",
    "ToolErrorInfo",
    "TransportSettings",
    "Variable",
    "freeze",
    "thaw",
)

DEFAULT_VOICE = "ash"
"""The voice a session speaks with when neither the graph nor the agent sets one (SDK default)."""
DEFAULT_OUTPUT_MODALITIES = ("audio",)
"""What the model answers with when ``output_modalities`` is not set (SDK default)."""


@dataclass(frozen=True, slots=True)
class InstructionTemplate:
    """A compiled, sandboxed Jinja2 template with ``StrictUndefined`` (plain text: ``compiled`` is None).

    Dynamic instructions (``instructions: {entrypoint: mod:fn}``) have ``entrypoint`` set and
    ``source`` holding its reference: the session calls ``fn(context, agent)`` for every
    ``session.update`` (``realtime_graph.runtime.dynamic_settings``); they cannot be rendered.
    """

    source: str
    compiled: Any = field(default=None, compare=False, repr=False)
    entrypoint: Entrypoint | None = None

    @property
    def dynamic(self) -> bool:
        """True for ``{entrypoint: ...}`` instructions (computed per session update, not rendered)."""
        return self.entrypoint is not None

    def render(self, values: Mapping[str, Any]) -> str:
        """The text for ``values``, within the render budget of :mod:`.rendering` (time and size).

        :raises TemplateRenderError: the template failed or ran over its budget, or the
            instructions are dynamic (an entrypoint the session calls).
        """
        from .rendering import render_instructions

        return render_instructions(self, values)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an entrypoint (tool, approval check, handoff hook, guardrail) may know about its call.

    A tool receives it when its function declares a parameter named ``context``.
    """

    agent: str
    graph_version: str
    context: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    tool_name: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """What an output guardrail returns. A guardrail may also return a bare ``bool`` (True = trip)."""

    tripwire_triggered: bool
    info: Any = None
    guardrail: str = ""


@dataclass(frozen=True, slots=True)
class ToolErrorInfo:
    """Argument of a ``run.tool_error_formatter`` entrypoint; it returns the model-visible text or None."""

    kind: Literal["exception", "timeout", "approval_rejected", "unknown_tool", "invalid_arguments"]
    tool_name: str
    call_id: str
    default_message: str
    exception: BaseException | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    """A function tool as the model sees it (``name``, ``description``, ``parameters``) plus how to run it."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    entrypoint: Entrypoint
    needs_approval: bool | Entrypoint = False
    timeout: float | None = None
    takes_context: bool = False
    location: SourceLocation | None = field(default=None, compare=False)
    enabled: bool = True
    """False: never offered to the model (a ``FunctionTool`` with ``is_enabled=False``)."""
    enabled_when: Entrypoint | None = None
    """A ``FunctionTool``'s callable ``is_enabled``: called as ``fn(context, agent) -> bool``
    whenever tools are sent, like a handoff's ``enabled_when``."""

    def to_wire(self) -> dict[str, Any]:
        return {"type": "function", "name": self.name, "description": self.description,
                "parameters": thaw(self.parameters)}


@dataclass(frozen=True, slots=True)
class Handoff:
    """A transfer to another agent, exposed to the model as a function tool named ``tool_name``."""

    target: str
    tool_name: str
    description: str
    on_handoff: Entrypoint | None = None
    enabled: bool = True
    """False: never offered to the model. True with ``enabled_when`` set: offered when it says so."""
    location: SourceLocation | None = field(default=None, compare=False)
    parameters: Mapping[str, Any] | None = None
    """The ``input_type`` schema; when set, ``on_handoff`` is called as ``fn(context, arguments)``."""
    enabled_when: Entrypoint | None = None
    """``enabled: mod:fn``: called as ``fn(context, agent) -> bool`` whenever tools are sent."""
    input_filter: Entrypoint | None = None
    """The SDK's ``input_filter``: kept for round trips, not applied (realtime handoffs keep the
    server-side conversation; the SDK does not support it for realtime agents either)."""

    def to_wire(self) -> dict[str, Any]:
        parameters = thaw(self.parameters) if self.parameters is not None else {
            "type": "object", "properties": {}, "additionalProperties": False}
        return {"type": "function", "name": self.tool_name, "description": self.description,
                "parameters": parameters}


@dataclass(frozen=True, slots=True)
class Guardrail:
    """An output guardrail: an entrypoint, or a built-in ``deny`` list of regular expressions."""

    name: str
    entrypoint: Entrypoint | None = None
    deny: tuple[re.Pattern[str], ...] = ()
    location: SourceLocation | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Hooks:
    """Lifecycle hooks; each is called with the corresponding session event."""

    on_agent_start: Entrypoint | None = None
    on_agent_end: Entrypoint | None = None
    on_tool_start: Entrypoint | None = None
    on_tool_end: Entrypoint | None = None
    on_handoff: Entrypoint | None = None


@dataclass(frozen=True, slots=True)
class DtmfRoute:
    """What one keypad digit does while an agent is active (the agent's ``dtmf:`` map).

    ``handoff``: switch to agent ``value``, which then answers; ``say``: the assistant says
    ``value``; ``send``: ``value`` is sent as the caller's text turn.
    """

    action: Literal["handoff", "say", "send"]
    value: str


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent of the graph."""

    name: str
    instructions: InstructionTemplate
    description: str = ""
    tools: tuple[Tool, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    output_guardrails: tuple[Guardrail, ...] = ()
    model_settings: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    """Per-agent overrides in GA shape (``tool_choice``, ``prompt``, ``audio.output.voice``, ``tools``, ...)."""
    hooks: Hooks = field(default_factory=Hooks)
    location: SourceLocation | None = field(default=None, compare=False)
    call_control: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    """The agent's ``call_control`` mapping as written (``realtime_graph.runtime.call_control``)."""
    greeting: InstructionTemplate | None = None
    """Instructions of the first response when a session starts on this agent (overrides the graph's)."""
    dtmf: Mapping[str, DtmfRoute] = field(default_factory=lambda: EMPTY)
    """Keypad digit (``0-9 * # A-D``) → what pressing it does (docs/telephony.md, "DTMF")."""

    def tool(self, name: str) -> Tool | Handoff | None:
        """The tool or enabled handoff the model may call under ``name``."""
        for t in self.tools:
            if t.name == name:
                return t
        for h in self.handoffs:
            if h.tool_name == name and h.enabled:
                return h
        return None


@dataclass(frozen=True, slots=True)
class Variable:
    """A declared template variable. ``default`` may be a :class:`Secret` (``${ENV}`` reference)."""

    name: str
    type: Literal["string", "integer", "number", "boolean"] = "string"
    default: Any = None
    required: bool = False
    description: str = ""
    secret: bool = False
    """True when the default references a credential-like variable (a name containing KEY,
    TOKEN, SECRET or PASSWORD): its value must be redacted wherever values are shown."""


@dataclass(frozen=True, slots=True)
class Graph:
    """A validated, immutable agent graph. ``version`` is a content hash of every input file."""

    version: str
    start: str
    agents: Mapping[str, Agent]
    variables: Mapping[str, Variable] = field(default_factory=lambda: EMPTY)
    model_settings: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    """Session-level settings, normalised to GA nesting (``audio.input``/``audio.output``). Hosted
    MCP tools (``tools``) hold :class:`Secret` s for ``${ENV}`` headers, revealed per session."""
    run: RunSettings = field(default_factory=RunSettings)
    output_guardrails: tuple[Guardrail, ...] = ()
    transport: TransportSettings = field(default_factory=TransportSettings)
    hooks: Hooks = field(default_factory=Hooks)
    source: str = ""
    """The definition folder (or ``<string>``) the graph was loaded from."""
    serve: ServeSettings = field(default_factory=ServeSettings)
    telephony: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    """The graph's ``telephony`` mapping as written (``realtime_graph.telephony.routing_from_mapping``)."""
    greeting: InstructionTemplate | None = None
    """Instructions of the first response of every session (``greeting:``); an agent's own wins."""

    def agent(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            raise KeyError(f"no agent named {name!r} in graph {self.version}") from None

    def variable_values(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Defaults of the declared variables, with ``${ENV}`` references revealed."""
        out: dict[str, Any] = {}
        for name, var in self.variables.items():
            value = var.default
            out[name] = value.reveal(environ) if isinstance(value, Secret) else value
        return out
