"""The immutable agent graph: what the loader produces and every session runs.

Everything here is frozen. Mappings are read-only (:class:`types.MappingProxyType`) and
sequences are tuples, so a :class:`Graph` can be shared by many live sessions and swapped
atomically on hot reload without anyone seeing a half-applied state. JSON-shaped values
(tool parameter schemas, session settings) are deep-frozen with :func:`freeze`; use
:func:`thaw` to get plain ``dict``/``list`` copies for the wire.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ..errors import EntrypointError

__all__ = (
    "DEFAULT_OUTPUT_MODALITIES",
    "DEFAULT_VOICE",
    "ENV_REFERENCE",
    "Agent",
    "CallContext",
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

_EMPTY: Mapping[str, Any] = MappingProxyType({})

DEFAULT_VOICE = "ash"
"""The voice a session speaks with when neither the graph nor the agent sets one (SDK default)."""
DEFAULT_OUTPUT_MODALITIES = ("audio",)
"""What the model answers with when ``output_modalities`` is not set (SDK default)."""


def freeze(value: Any) -> Any:
    """Deep-freeze JSON-shaped data: dicts become read-only mappings, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain ``dict``/``list`` copies, safe to mutate and serialise."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a definition came from: file as given, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${NAME}`` or ``${NAME:-default}``: group 1 is the name, group 2 the default (None if absent)."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that comes from the environment via a ``${NAME}`` (or ``${NAME:-default}``) reference.

    The reference text, never the value, is what ``repr``/``str`` show, so secrets cannot leak
    into logs, errors or ``rtgraph`` dumps. Call :meth:`reveal` at the one place that needs the
    value (building the WebSocket handshake, rendering a template).
    """

    template: str

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise KeyError(name)

        return ENV_REFERENCE.sub(sub, self.template)

    def missing(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """Names referenced without a default that are not set."""
        env = os.environ if environ is None else environ
        return tuple(
            m.group(1) for m in ENV_REFERENCE.finditer(self.template)
            if m.group(1) not in env and m.group(2) is None
        )

    def values(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The referenced environment variables that are set: name → value (for redaction)."""
        env = os.environ if environ is None else environ
        return {m.group(1): env[m.group(1)] for m in ENV_REFERENCE.finditer(self.template) if m.group(1) in env}

    def __repr__(self) -> str:
        return f"Secret({self.template!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Entrypoint:
    """A ``pkg.module:function`` reference and, once imported, the object it names."""

    ref: str
    target: Callable[..., Any] | None = field(default=None, compare=False)
    is_async: bool = False
    location: SourceLocation | None = field(default=None, compare=False)
    convention: str = field(default="", compare=False)
    """How the loader calls the named object, e.g. ``fn(context, agent, output) (SDK)`` (``rtgraph
    validate --verbose``). ``target`` is then an adapter with our call convention."""
    takes_context: bool = False
    """A hook entrypoint that also receives a :class:`CallContext` after the event (SDK-shaped hooks)."""

    def resolve(self) -> Callable[..., Any]:
        if self.target is None:
            raise EntrypointError(f"entrypoint {self.ref!r} was not imported (loaded with import disabled)")
        return self.target


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
    context: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
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
class Agent:
    """One agent of the graph."""

    name: str
    instructions: InstructionTemplate
    description: str = ""
    tools: tuple[Tool, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    output_guardrails: tuple[Guardrail, ...] = ()
    model_settings: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """Per-agent overrides in GA shape (``tool_choice``, ``prompt``, ``audio.output.voice``, ``tools``, ...)."""
    hooks: Hooks = field(default_factory=Hooks)
    location: SourceLocation | None = field(default=None, compare=False)
    call_control: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """The agent's ``call_control`` mapping as written (``realtime_graph.runtime.call_control``)."""
    greeting: InstructionTemplate | None = None
    """Instructions of the first response when a session starts on this agent (overrides the graph's)."""

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
class ReconnectSettings:
    """The graph file's ``run.reconnect`` section: reconnect with conversation replay."""

    enabled: bool = True
    max_attempts: int = 5
    """Connection attempts per drop before the session ends."""
    backoff_initial: float = 0.5
    """Seconds before the first attempt; doubled per attempt (with jitter), up to ``backoff_max``."""
    backoff_max: float = 8.0
    max_session_age: float | None = 3300.0
    """Roll over to a fresh connection at the first turn boundary after this many seconds
    (before the API's 60-minute cap); None: never."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The graph file's ``run`` section (runner behaviour, not sent to the model)."""

    async_tool_calls: bool = True
    guardrail_debounce_text_length: int = 100
    guardrail_max_consecutive_trips: int = 2
    """After this many responses in a row tripped an output guardrail, stop asking the model again."""
    tool_error_formatter: Entrypoint | None = None
    tracing_disabled: bool = False
    guardrail_timeout: float = 5.0
    """Seconds an entrypoint guardrail may take; then it counts as failed (not tripped)."""
    connect_timeout: float = 10.0
    """Seconds allowed to open the connection (``run.timeouts.connect``)."""
    first_event_timeout: float = 10.0
    """Seconds allowed for the server's first event, ``session.created`` (``run.timeouts.first_event``)."""
    response_timeout: float = 30.0
    """Seconds without progress on the response in flight before it is failed (``run.timeouts.response``)."""
    instructions_timeout: float = 5.0
    """Seconds a dynamic instructions or handoff ``enabled`` entrypoint may take (``run.timeouts.instructions``)."""
    tool_max_output_chars: int = 100_000
    """A tool's output longer than this is cut, with a note the model sees (``run.tools.max_output_chars``)."""
    tool_loop_lag_threshold: float = 0.5
    """Seconds an ``async`` entrypoint may hold the event loop before an ``error`` event names it
    (``run.tools.loop_lag_threshold``; 0 turns the report off)."""
    reconnect: ReconnectSettings = field(default_factory=ReconnectSettings)


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """The graph file's ``transport`` section. Secrets only as :class:`Secret` references."""

    type: Literal["openai", "simulator"] | None = None
    url: str | None = None
    headers: Mapping[str, str | Secret] = field(default_factory=lambda: _EMPTY)
    api_key: Secret | None = None
    model: str | None = None
    call_id: str | Secret | None = None
    """Attach to this SIP/WebRTC call (``?call_id=``); may be an ``${ENV}`` reference."""


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """The graph file's ``serve`` section (``rtgraph serve``); None means "not set" (flags or
    the server's defaults apply). The token only as a :class:`Secret` reference."""

    host: str | None = None
    port: int | None = None
    max_sessions: int | None = None
    drain_timeout: float | None = None
    token: Secret | None = None
    allowed_origins: tuple[str, ...] = ()
    browser: bool = True


@dataclass(frozen=True, slots=True)
class Graph:
    """A validated, immutable agent graph. ``version`` is a content hash of every input file."""

    version: str
    start: str
    agents: Mapping[str, Agent]
    variables: Mapping[str, Variable] = field(default_factory=lambda: _EMPTY)
    model_settings: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """Session-level settings, normalised to GA nesting (``audio.input``/``audio.output``). Hosted
    MCP tools (``tools``) hold :class:`Secret` s for ``${ENV}`` headers, revealed per session."""
    run: RunSettings = field(default_factory=RunSettings)
    output_guardrails: tuple[Guardrail, ...] = ()
    transport: TransportSettings = field(default_factory=TransportSettings)
    hooks: Hooks = field(default_factory=Hooks)
    source: str = ""
    """The definition folder (or ``<string>``) the graph was loaded from."""
    serve: ServeSettings = field(default_factory=ServeSettings)
    telephony: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
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
