"""Reload under hostile edits: removed functions, undecodable file names, slow imports."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from realtime_graph.config import render_issues
from realtime_graph.errors import ConfigError
from realtime_graph.graph.model import Graph
from realtime_graph.reload import GraphReloader
from tests.support.reload import AGENT, TOOL, Collector, Folder, load_initial, reloader_for, write

pytestmark = pytest.mark.anyio




async def test_a_removed_tool_function_is_a_rejected_reload(folder: Folder, collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / f"{folder.module}.py", "def something_else() -> str:\n    return 'x'\n")
        kind, error = await collector.next()
        assert kind == "error" and isinstance(error, ConfigError)
        assert [(i.code, i.message) for i in error.issues] == [
            ("RG303", f"{folder.module!r} has no attribute 'get_weather'")]
        assert error.issues[0].file == str(folder.root / "assistant.yaml") and error.issues[0].line == 5
        write(folder.root / f"{folder.module}.py", TOOL.format(answer="rainy"))  # restored: applied again
        kind, graph = await collector.next()
        assert kind == "graph" and isinstance(graph, Graph)
        assert graph.agent("Assistant").tools[0].entrypoint.resolve()("Oslo") == "rainy in Oslo"
        tg.cancel_scope.cancel()


async def test_a_file_name_that_is_not_utf8_is_a_located_rejection_not_a_dead_watcher(
        folder: Folder, collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    bad = os.path.join(os.fsencode(folder.root), b"\xff\xfeodd.yaml")
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        with open(bad, "wb") as f:
            f.write(b"kind: agent\nname: odd\n")
        kind, error = await collector.next()  # the load's RG109, or the watcher's own report first
        assert kind == "error" and isinstance(error, ConfigError)
        assert "RG109" in {i.code for i in error.issues}, error.issues
        render_issues(error.issues).encode("utf-8")  # printable: the name is shown with \\xNN escapes
        os.unlink(bad)
        write(folder.root / "assistant.yaml", AGENT.format(text="after", module=folder.module))
        while True:  # the watcher still works: the next edit is delivered
            kind, item = await collector.next()
            if kind == "graph":
                assert isinstance(item, Graph) and item.agent("Assistant").instructions.source == "after"
                break
        tg.cancel_scope.cancel()


SLEEPY = '''\
import pathlib, time
if pathlib.Path({flag!r}).exists():
    time.sleep(3)


def get_weather(city: str) -> str:
    """Weather for a city."""
    return "{answer} in " + city
'''


async def test_a_slow_import_is_reported_and_does_not_block_later_edits(tmp_path: Path, folder: Folder,
                                                                        collector: Collector) -> None:
    flag = tmp_path / "slow"
    initial = load_initial(folder)
    reloader = GraphReloader(folder.root, on_graph=collector.on_graph, on_error=collector.on_error,
                             initial=initial, load_timeout_s=0.5)
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        flag.touch()
        started = time.monotonic()
        write(folder.root / f"{folder.module}.py", SLEEPY.format(flag=str(flag), answer="slow"))
        kind, error = await collector.next()
        assert kind == "error" and isinstance(error, ConfigError)
        assert time.monotonic() - started < 2.5  # reported at the time-box, not after the 3 s import
        (issue,) = error.issues
        assert (issue.code, issue.file) == ("RG302", str(folder.root))
        assert issue.message == "reload took longer than 0.5s and was abandoned (a module that is slow to import?)"
        flag.unlink()
        write(folder.root / f"{folder.module}.py", SLEEPY.format(flag=str(flag), answer="fast"))
        with anyio.fail_after(10):
            while True:
                kind, item = await collector.next()
                if kind == "graph":
                    assert isinstance(item, Graph)
                    assert item.agent("Assistant").tools[0].entrypoint.resolve()("Oslo") == "fast in Oslo"
                    break
        tg.cancel_scope.cancel()
