"""Hot reload across live sessions: one watcher, each session switches at its own safe point,
new sessions start on the newest valid graph, invalid edits reach every console and change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import httpx
import pytest

from realtime_graph.config import load
from tests.support.serving import EXAMPLE, browser, serving

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "agents.d"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


async def test_each_session_switches_at_its_own_safe_point_and_new_ones_start_on_the_new_graph(
        tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    old = load(folder).version
    async with serving(folder, reload=True) as url, browser(url) as busy, browser(url) as idle:
        assert (await busy.until("session"))["graph_version"] == old
        assert (await idle.until("session"))["graph_version"] == old
        await busy.send("text", text="booking please: book table at Luigi time=19:30")
        approval = await busy.until("approval_required")  # a parked tool call: not a safe point
        concierge = folder / "concierge.yaml"
        concierge.write_text(concierge.read_text().replace("Greet the caller briefly.", "Greet the caller warmly."))
        new = load(folder).version
        assert new != old
        updated = await idle.until("graph_updated", timeout=20)
        assert (updated["version"], updated["agent"]) == (new, "concierge")
        await anyio.sleep(0.3)
        assert "graph_updated" not in busy.types()  # still pinned to the old graph
        await busy.send("approve", call_id=approval["call_id"], always=False)
        await busy.until("tool_end")
        switched = await busy.until("graph_updated", timeout=20)
        assert (switched["version"], switched["agent"]) == (new, "booking")
        async with browser(url) as late:
            assert (await late.until("session"))["graph_version"] == new
    assert f"rtgraph: reload applied version={new} sessions=2" in url.log.getvalue()


async def test_an_invalid_edit_is_shown_on_every_console_and_never_applied(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    valid = load(folder).version
    async with serving(folder, reload=True) as url, browser(url) as first:
        await first.until("session")
        concierge = folder / "concierge.yaml"
        text = concierge.read_text().replace("  - weather\n", "  - wether\n")
        concierge.write_text(text)
        line = text.splitlines().index("  - wether") + 1
        rejected = await first.until("reload_rejected", timeout=20)
        assert rejected["message"].startswith(f"{concierge}:{line}:5: error RG205: handoff to unknown agent 'wether'")
        assert "1 error" in rejected["message"]
        async with browser(url) as second:
            hello = await second.until("session")
            assert hello["graph_version"] == valid  # new sessions start on the last valid graph
            assert (await second.until("reload_rejected"))["message"] == rejected["message"]
        async with httpx.AsyncClient() as http:
            ready = await http.get(url.path("/readyz"))
            metrics = (await http.get(url.path("/metrics"))).text
        assert ready.status_code == 200 and ready.json()["last_reload_rejected"] == rejected["message"]
        assert 'rtgraph_reloads_total{result="rejected"} 1.0' in metrics
        await first.send("text", text="are you still the old graph?")
        reply = await first.until("transcript", role="assistant", final=True)
        assert reply["text"] == "You said: are you still the old graph?"
        assert "graph_updated" not in first.types()
    log = url.log.getvalue()
    assert f"rtgraph: reload rejected edit not applied:\n{folder}/concierge.yaml:{line}:5: error RG205" in log
