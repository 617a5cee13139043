"""``import_sdk_agent``: an SDK ``RealtimeAgent`` (and optional run config) → definition documents.

The OpenAI Agents SDK (``openai-agents``) is imported here, lazily, and only when an import runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .sdk_agents import AgentDocument, SdkTypes, translate_agents
from .sdk_lookup import ObjectLocator, SdkImportError, load_target
from .sdk_settings import translate_settings

__all__ = ("DefinitionFile", "ImportedDefinition", "import_sdk_agent")

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class DefinitionFile:
    """One file to write: its name, its document, and the notes that go on top as comments."""

    filename: str
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportedDefinition:
    """The documents of a definition folder, graph file last."""

    source: str
    files: list[DefinitionFile]

    @property
    def notes(self) -> list[str]:
        """Every note, prefixed with its file name."""
        return [f"{f.filename}: {note}" for f in self.files for note in f.notes]


def _sdk_types() -> SdkTypes:
    try:
        from agents import FunctionTool, Handoff
        from agents.realtime import RealtimeAgent
    except ImportError:
        raise SdkImportError("rtgraph import needs the OpenAI Agents SDK: pip install 'realtime-graph[sdk]' "
                             "(or openai-agents)") from None
    return SdkTypes(realtime_agent=RealtimeAgent, handoff=Handoff, function_tool=FunctionTool)


def _file_names(docs: list[AgentDocument]) -> list[str]:
    taken = {"graph"}
    names = []
    for doc in docs:
        base = _SLUG.sub("_", doc.name.lower()).strip("_") or "agent"
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}_{n}", n + 1
        taken.add(slug)
        names.append(f"{slug}.yaml")
    return names


def import_sdk_agent(target: str, *, run_config: str | None = None) -> ImportedDefinition:
    """Load ``MODULE:AGENT`` (and ``MODULE:NAME`` run config or model settings) and translate them.

    :raises SdkImportError: the SDK is missing, a target does not load, or is of the wrong type.
    """
    types = _sdk_types()
    module, agent = load_target(target, what="agent")
    if not isinstance(agent, types.realtime_agent):
        raise SdkImportError(f"{target} is a {type(agent).__name__}, not an agents.realtime.RealtimeAgent")
    locator = ObjectLocator([module])
    settings: Any = None
    if run_config is not None:
        config_module, settings = load_target(run_config, what="run config")
        if not isinstance(settings, Mapping):
            raise SdkImportError(f"{run_config} is a {type(settings).__name__}, not a RealtimeRunConfig or "
                                 "RealtimeSessionModelSettings mapping")
        locator.add(config_module)
    agent_docs = translate_agents(agent, types, locator)
    parts = translate_settings(settings or {}, locator.find)
    files = [DefinitionFile(name, doc.document, doc.notes)
             for name, doc in zip(_file_names(agent_docs), agent_docs, strict=True)]
    graph: dict[str, Any] = {"kind": "graph", "start": agent_docs[0].name}
    session_tools: dict[str, dict[str, Any]] = {}
    for doc in agent_docs:
        for tool in doc.session_tools:
            session_tools.setdefault(str(tool.get("server_label")), tool)
    if session_tools:
        parts.model_settings["tools"] = list(session_tools.values())
    if parts.model_settings:
        graph["model_settings"] = parts.model_settings
    if parts.run:
        graph["run"] = parts.run
    if parts.output_guardrails:
        graph["output_guardrails"] = parts.output_guardrails
    if locator.used_modules:
        graph["imports"] = {"allow": sorted(locator.used_modules)}
    files.append(DefinitionFile("graph.yaml", graph, parts.notes))
    return ImportedDefinition(source=target if run_config is None else f"{target} --run-config {run_config}",
                              files=files)
