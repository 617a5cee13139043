"""GraphReloader against real files and real watchfiles events (no mocks)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import anyio
import pytest

from realtime_graph.errors import ConfigError
from realtime_graph.graph.model import Graph
from realtime_graph.reload import GraphReloader
from tests.support.reload import AGENT, TOOL, Collector, Folder, SlowImports, load_initial, reloader_for, write

pytestmark = pytest.mark.anyio



async def test_valid_edit_is_delivered(folder: Folder, collector: Collector) -> None:
    initial = load_initial(folder)
    reloader = reloader_for(folder, collector, initial)
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / "assistant.yaml", AGENT.format(text="v2", module=folder.module))
        kind, graph = await collector.next()
        assert kind == "graph"
        assert isinstance(graph, Graph)
        assert graph.agents["Assistant"].instructions.source == "v2"
        assert graph.version != initial.version
        await collector.nothing_more()
        tg.cancel_scope.cancel()
    assert reloader.loads == 1


async def test_broken_edit_is_rejected_with_located_errors_then_fixed(folder: Folder, collector: Collector) -> None:
    from realtime_graph.config import render_issues

    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / "assistant.yaml",
              AGENT.format(text="v2", module=folder.module) + "voice: ash\n")
        kind, error = await collector.next()
        assert kind == "error"
        assert isinstance(error, ConfigError)
        [issue] = error.errors
        assert (issue.code, Path(issue.file or "").name, issue.line, issue.column, issue.path) == (
            "RG111", "assistant.yaml", 6, 1, "$.voice")
        rendered = render_issues(error.issues, "text")
        assert "assistant.yaml:6:1: error RG111" in rendered
        # The user fixes the file: the next good graph is delivered.
        write(folder.root / "assistant.yaml", AGENT.format(text="v3", module=folder.module))
        kind, graph = await collector.next()
        assert kind == "graph"
        assert graph.agents["Assistant"].instructions.source == "v3"  # type: ignore[attr-defined]
        tg.cancel_scope.cancel()


async def test_saves_during_a_load_cost_one_more_load(tmp_path: Path, folder: Folder, collector: Collector) -> None:
    slow = SlowImports(tmp_path, folder)
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        await slow.save_three_times_during_a_load()
        kind, graph = await collector.next()
        assert (kind, graph.agents["Assistant"].instructions.source) == ("graph", "during 0")  # type: ignore[attr-defined]
        kind, graph = await collector.next()
        assert (kind, graph.agents["Assistant"].instructions.source) == ("graph", "during 3")  # type: ignore[attr-defined]
        await collector.nothing_more()
        tg.cancel_scope.cancel()
    assert reloader.loads == 2


async def test_unchanged_content_is_not_redelivered(folder: Folder, collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / "assistant.yaml", AGENT.format(text="v1", module=folder.module))  # same bytes
        await collector.nothing_more()
        tg.cancel_scope.cancel()
    assert reloader.loads == 1


async def test_editor_temp_files_alone_do_not_reload(folder: Folder, collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        for noise in (".assistant.yaml.swp", "assistant.yaml~", "4913", "#assistant.yaml#",
                      "assistant.yaml.tmp", "assistant.yaml___jb_tmp___"):
            write(folder.root / noise, "kind: [broken")
        (folder.root / ".#assistant.yaml").symlink_to("user@host.4242:1700000000")  # emacs lock link
        await collector.nothing_more()
        assert reloader.loads == 0
        # write-to-temp-then-rename, as vim (backupcopy=no), VS Code and JetBrains save
        temp = folder.root / ".assistant.yaml.tmp"
        write(temp, AGENT.format(text="renamed", module=folder.module))
        os.replace(temp, folder.root / "assistant.yaml")
        kind, graph = await collector.next()
        assert kind == "graph"
        assert graph.agents["Assistant"].instructions.source == "renamed"  # type: ignore[attr-defined]
        tg.cancel_scope.cancel()


async def test_configmap_symlink_swap_reloads(tmp_path: Path, collector: Collector) -> None:
    # The layout the kubelet maintains for a mounted ConfigMap.
    folder = Folder(tmp_path / "agents.d")
    root = folder.root
    first = root / "..2024_01_01_00_00_00.000000001"
    first.mkdir()
    folder.populate(first)
    (root / "..data").symlink_to(first.name)
    for name in ("graph.yaml", "assistant.yaml", f"{folder.module}.py"):
        (root / name).symlink_to(Path("..data") / name)
    initial = load_initial(folder)
    reloader = reloader_for(folder, collector, initial)
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        second = root / "..2024_01_01_00_05_00.000000002"
        second.mkdir()
        folder.populate(second, text="from configmap v2")
        (root / "..data_tmp").symlink_to(second.name)
        os.replace(root / "..data_tmp", root / "..data")
        for f in first.iterdir():
            f.unlink()
        first.rmdir()
        kind, graph = await collector.next()
        assert kind == "graph", graph
        assert graph.agents["Assistant"].instructions.source == "from configmap v2"  # type: ignore[attr-defined]
        await collector.nothing_more()
        tg.cancel_scope.cancel()


async def test_edited_tool_module_takes_effect(folder: Folder, collector: Collector) -> None:
    initial = load_initial(folder)
    assert initial.agents["Assistant"].tools[0].entrypoint.resolve()(city="Paris") == "sunny in Paris"
    reloader = reloader_for(folder, collector, initial)
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / f"{folder.module}.py", TOOL.format(answer="raining"))
        kind, graph = await collector.next()
        assert kind == "graph", graph
        tool = graph.agents["Assistant"].tools[0]  # type: ignore[attr-defined]
        assert tool.entrypoint.resolve()(city="Paris") == "raining in Paris"
        tg.cancel_scope.cancel()


async def test_cancellation_ends_run_promptly(folder: Folder, collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        started = time.monotonic()
        tg.cancel_scope.cancel()
    # awatch's worker thread would otherwise hold cancellation for its 5 s rust timeout.
    assert time.monotonic() - started < 0.5


async def test_missing_folder_is_a_config_error(tmp_path: Path, collector: Collector) -> None:
    reloader = GraphReloader(tmp_path / "nope", on_graph=collector.on_graph, on_error=collector.on_error)
    with pytest.raises(ConfigError) as info:
        await reloader.run()
    assert info.value.errors[0].code == "RG106"


async def test_an_edit_saved_before_the_watches_start_is_caught_up(folder: Folder, collector: Collector) -> None:
    initial = load_initial(folder)
    # saved after the caller loaded its graph but before the reloader watches: no event will come
    write(folder.root / "assistant.yaml", AGENT.format(text="early", module=folder.module))
    reloader = reloader_for(folder, collector, initial)
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        kind, graph = await collector.next()
        assert kind == "graph"
        assert graph.agents["Assistant"].instructions.source == "early"  # type: ignore[attr-defined]
        tg.cancel_scope.cancel()
    assert reloader.loads == 1


def outside_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: str, answer: str) -> tuple[str, Path]:
    """A tool module in its own directory outside the definition folder, importable via sys.path."""
    name = f"lib_{uuid.uuid4().hex[:8]}"
    path = tmp_path / directory / f"{name}.py"
    path.parent.mkdir(exist_ok=True)
    write(path, TOOL.format(answer=answer))
    monkeypatch.syspath_prepend(str(path.parent))
    return name, path


def weather_of(graph: object) -> str:
    return graph.agents["Assistant"].tools[0].entrypoint.resolve()(city="Paris")  # type: ignore[attr-defined]


async def test_edited_module_outside_the_folder_takes_effect(tmp_path: Path, folder: Folder, collector: Collector,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    module, path = outside_module(tmp_path, monkeypatch, "lib", "sunny")
    write(folder.root / "assistant.yaml", AGENT.format(text="v1", module=module))
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(path, TOOL.format(answer="foggy"))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "foggy in Paris")
        tg.cancel_scope.cancel()


async def test_watched_modules_follow_the_graph(tmp_path: Path, folder: Folder, collector: Collector,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first, first_path = outside_module(tmp_path, monkeypatch, "lib_a", "sunny")
    second, second_path = outside_module(tmp_path, monkeypatch, "lib_b", "cloudy")
    reloader = reloader_for(folder, collector, load_initial(folder))  # its module is in the folder
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        # The graph now uses a module outside the folder: its directory starts being watched.
        write(folder.root / "assistant.yaml", AGENT.format(text="v1", module=first))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "sunny in Paris")
        write(first_path, TOOL.format(answer="foggy"))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "foggy in Paris")
        # It switches to another module elsewhere: that one is watched, the first one no longer.
        write(folder.root / "assistant.yaml", AGENT.format(text="v1", module=second))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "cloudy in Paris")
        loads = reloader.loads
        write(first_path, TOOL.format(answer="stormy"))
        await collector.nothing_more()
        assert reloader.loads == loads
        write(second_path, TOOL.format(answer="windy"))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "windy in Paris")
        tg.cancel_scope.cancel()


async def test_a_tool_module_that_fails_to_reimport_is_rejected_then_fixed(folder: Folder,
                                                                           collector: Collector) -> None:
    reloader = reloader_for(folder, collector, load_initial(folder))
    async with anyio.create_task_group() as tg:
        await tg.start(reloader.run)
        write(folder.root / f"{folder.module}.py", 'raise RuntimeError("database URL not configured")\n')
        kind, error = await collector.next()
        assert kind == "error"
        assert isinstance(error, ConfigError)
        assert [(i.code, Path(i.file or "").name, i.line, i.column, i.message) for i in error.errors] == [
            ("RG302", "assistant.yaml", 5, 17,
             f"importing '{folder.module}' failed: RuntimeError: database URL not configured")]
        write(folder.root / f"{folder.module}.py", TOOL.format(answer="hail"))
        kind, graph = await collector.next()
        assert (kind, weather_of(graph)) == ("graph", "hail in Paris")
        tg.cancel_scope.cancel()
