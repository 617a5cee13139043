"""Render a :class:`Graph`'s handoffs as a Mermaid flowchart (pure: text in, text out)."""

from __future__ import annotations

from .model import Graph

__all__ = ("to_mermaid",)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(graph: Graph) -> str:
    """``flowchart LR``: one node per agent (the start agent marked), one edge per handoff
    labelled with the tool name the model sees; disabled handoffs are dotted."""
    ids = {name: f"a{index}" for index, name in enumerate(graph.agents)}
    lines = ["flowchart LR"]
    for name, node in ids.items():
        if name == graph.start:
            lines.append(f"    {node}[{_label(name + ' (start)')}]:::start")
        else:
            lines.append(f"    {node}[{_label(name)}]")
    for name, agent in graph.agents.items():
        for handoff in agent.handoffs:
            arrow = f"-- {_label(handoff.tool_name)} -->" if handoff.enabled else f"-. {_label(handoff.tool_name)} .->"
            lines.append(f"    {ids[name]} {arrow} {ids[handoff.target]}")
    lines.append("    classDef start stroke-width:3px")
    return "\n".join(lines) + "\n"
