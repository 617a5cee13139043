"""Stage 2 checks across documents: names, start, reachability, voices along handoffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..graph.model import DEFAULT_OUTPUT_MODALITIES, DEFAULT_VOICE
from .agents import BuiltAgent
from .issues import IssueSink, closest
from .yamlsource import Document

__all__ = ("check_reachable", "check_start", "check_voices", "unique_agents")


def _where(doc: Document, path: tuple[str, ...]) -> str:
    location = doc.source_location(path)
    return str(location) if location is not None else f"{doc.file} (document {doc.index + 1})"


def unique_agents(docs: Sequence[Document], sink: IssueSink) -> list[Document]:
    """The first document per agent name; later duplicates are RG203 naming the first."""
    first: dict[str, Document] = {}
    for doc in docs:
        name = doc.data["name"]
        if name in first:
            sink.add("RG203", f"agent {name!r} is already defined at {_where(first[name], ('name',))}",
                     doc, ("name",), hint="agent names must be unique in the graph; rename or remove one")
        else:
            first[name] = doc
    return list(first.values())


def check_start(doc: Document, names: Sequence[str], sink: IssueSink) -> bool:
    start = doc.data["start"]
    if start in names:
        return True
    near = closest(start, names)
    sink.add("RG204", f"start agent {start!r} is not defined", doc, ("start",),
             hint=f"did you mean {near!r}?" if near else f"agents: {', '.join(sorted(names)) or '(none)'}")
    return False


def _targets(doc: Document) -> list[str]:
    """Handoff targets that may be offered (``enabled`` not literally false), read leniently:
    the document may have failed the schema, and a broken entry still names its target."""
    handoffs = doc.data.get("handoffs")
    out = []
    for raw in handoffs if isinstance(handoffs, list) else ():
        if isinstance(raw, str):
            out.append(raw)
        elif isinstance(raw, dict) and isinstance(raw.get("agent"), str) and raw.get("enabled", True) is not False:
            out.append(raw["agent"])
    dtmf = doc.data.get("dtmf")
    if isinstance(dtmf, dict):  # a keypad digit reaches its handoff target too
        out.extend(spec["handoff"] for spec in dtmf.values() if isinstance(spec, dict) and "handoff" in spec)
    return out


def check_reachable(start: str, agent_docs: Sequence[Document], sink: IssueSink,
                    invalid_docs: Sequence[Document] = (), entry_points: Sequence[str] = ()) -> None:
    """Warn about agents no chain of possibly enabled handoffs from ``start`` (or from an
    ``entry_points`` agent: one a telephony routing rule starts calls on) reaches.

    Works on the documents, not the built agents, so one broken agent does not make others
    look unreachable; the handoffs of ``invalid_docs`` (agent documents that failed the schema)
    count too, but they get no warning themselves: their error is reported already.
    """
    by_name: dict[str, Document] = {}
    for doc in (*agent_docs, *invalid_docs):
        name = doc.data.get("name") if isinstance(doc.data, dict) else None
        if isinstance(name, str):
            by_name.setdefault(name, doc)
    seen = {start, *entry_points}
    todo = list(seen)
    while todo:
        current = by_name.get(todo.pop())
        for target in _targets(current) if current is not None else ():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for doc in agent_docs:
        name = doc.data["name"]
        if name not in seen and by_name[name] is doc:
            sink.add("RG207", f"agent {name!r} is unreachable from start agent {start!r}", doc, ("name",),
                     hint=f"add a handoff to {name!r} from a reachable agent, or remove it")


def _voice(settings: Mapping[str, Any]) -> str | None:
    audio = settings.get("audio") or {}
    return (audio.get("output") or {}).get("voice")


def check_voices(built: Mapping[str, BuiltAgent], session_settings: Mapping[str, Any], sink: IssueSink) -> None:
    """With audio output, a handoff must not change the voice (the Realtime API refuses it)."""
    if "audio" not in session_settings.get("output_modalities", DEFAULT_OUTPUT_MODALITIES):
        return
    graph_voice = _voice(session_settings) or DEFAULT_VOICE

    def effective(entry: BuiltAgent) -> str:
        return _voice(entry.agent.model_settings) or graph_voice

    for entry in built.values():
        source_voice = effective(entry)
        # an agent is built only when every handoff is, so handoff i is handoffs[i] of its document
        for index, handoff in enumerate(entry.agent.handoffs):
            target = built.get(handoff.target)
            if target is None or not handoff.enabled or effective(target) == source_voice:
                continue
            sink.add(
                "RG208",
                f"handoff from {entry.agent.name!r} (voice {source_voice!r}) to {handoff.target!r} "
                f"(voice {effective(target)!r}) would change the voice",
                entry.doc, ("handoffs", index),
                hint=f"set model_settings.audio.output.voice: {source_voice} in agent {handoff.target!r} "
                     f"({_where(target.doc, ('name',))}); the Realtime API refuses a voice change once "
                     "audio was produced, so agents that hand off to each other must share one voice",
            )
