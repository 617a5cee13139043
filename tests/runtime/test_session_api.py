"""``Session``'s public names are exactly the documented API (docs/architecture.md, "Runtime")."""

from __future__ import annotations

import re
from pathlib import Path

from realtime_graph.runtime import Session

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def documented_session_names() -> set[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = re.search(r"### Runtime \(`realtime_graph\.runtime`\)\n```python\n(.*?)```", text, re.S)
    assert block is not None, "docs/architecture.md has no Runtime API block"
    names: set[str] = set()
    for line in block.group(1).splitlines():
        code = line.split("#", 1)[0]
        names.update(re.findall(r"\bsession\.(\w+)", code))
        if code.strip().startswith("session."):  # "session.connection, .history, ..."
            names.update(re.findall(r",\s*\.(\w+)", code))
    return names


def test_public_names_are_the_documented_api() -> None:
    public = {n for n in dir(Session) if not n.startswith("_")}
    assert public == documented_session_names()


def test_the_documented_api_is_the_issue_list() -> None:
    # Guards the parser above: the block names every documented method and property.
    assert documented_session_names() == {
        "send_message", "send_audio", "send_dtmf", "interrupt", "approve_tool_call", "reject_tool_call", "update_agent",
        "send_raw", "update_graph", "wait_idle", "is_idle", "connection", "history", "current_agent",
        "graph", "values", "context", "playback_tracker"}


def test_async_iteration_and_context_manager() -> None:
    assert all(hasattr(Session, n) for n in ("__aiter__", "__aenter__", "__aexit__"))
