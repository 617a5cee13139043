"""Hot reload of a live simulator session: real files, real watchfiles events, real WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_graph.config import load
from realtime_graph.errors import ConfigError
from realtime_graph.reload import GraphReloader
from realtime_graph.runtime import Runner
from realtime_graph.runtime import events as ev
from realtime_graph.transports import Simulator, SimulatorTransport
from tests.support.reload import AGENT, QUIET_S, TOOL, Folder, SlowImports, write

pytestmark = pytest.mark.anyio
OTHER = 'kind: agent\nname: Other\ninstructions: "other"\nhandoffs: [Assistant]\n'


class Live:
    """A running session plus its reloader; events and reload errors collected in order."""

    def __init__(self, session: Any, reloader: GraphReloader) -> None:
        self.session = session
        self.reloader = reloader
        self.events: list[ev.SessionEventBase] = []
        self.errors: list[ConfigError] = []
        self.changed = anyio.Event()

    def seen(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        with anyio.fail_after(timeout):
            while True:
                for item in [*self.events, *self.errors]:
                    if predicate(item):
                        return item
                await self.changed.wait()


@asynccontextmanager
async def live_session(folder: Folder, *, agent: str | None = None, pace: float = 0.0) -> AsyncIterator[Live]:
    graph = load(folder.root)
    runner = Runner(graph, transport=SimulatorTransport(Simulator(realtime_factor=pace)))
    async with runner.run(agent=agent) as session:
        live: Live

        def on_error(error: ConfigError) -> None:
            live.errors.append(error)
            live.seen()

        reloader = GraphReloader(folder.root, on_graph=session.update_graph, on_error=on_error, initial=graph)
        live = Live(session, reloader)

        async def collect() -> None:
            async for event in session:
                live.events.append(event)
                live.seen()

        async with anyio.create_task_group() as tg:
            tg.start_soon(collect)
            await tg.start(reloader.run)
            yield live
            tg.cancel_scope.cancel()


def of(kind: type) -> Any:
    return lambda item: isinstance(item, kind)


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    f = Folder(tmp_path / "agents.d")
    f.populate()
    return f


async def test_valid_edit_waits_for_the_turn_boundary(folder: Folder) -> None:
    async with live_session(folder, pace=1.0) as live:  # paced: the response lasts a while
        version = live.session.graph.version
        await live.session.send_message("tell me something long enough to take a moment")
        await live.wait_for(of(ev.AudioEvent))  # the assistant is speaking now
        write(folder.root / "assistant.yaml", AGENT.format(text="v2", module=folder.module))
        updated = await live.wait_for(of(ev.GraphUpdatedEvent))
        kinds = [e.type for e in live.events]
        # applied only after the response finished, never in the middle of it
        assert kinds.index("agent_end") < kinds.index("graph_updated")
        assert updated.previous_version == version and updated.graph_version != version
        assert updated.pinned is False
        assert live.session.graph.agents["Assistant"].instructions.source == "v2"


async def test_broken_edit_is_rejected_and_the_session_continues(folder: Folder) -> None:
    async with live_session(folder) as live:
        version = live.session.graph.version
        write(folder.root / "assistant.yaml", AGENT.format(text="v2", module=folder.module) + "voice: ash\n")
        error = await live.wait_for(of(ConfigError))
        assert [(i.code, i.line, i.column) for i in error.errors] == [("RG111", 6, 1)]
        await live.session.send_message("hello")
        end = await live.wait_for(of(ev.AgentEndEvent))  # the call goes on under the last good graph
        assert end.graph_version == version
        assert live.session.graph.version == version
        assert not any(isinstance(e, ev.GraphUpdatedEvent) for e in live.events)


async def test_active_agent_removed_stays_pinned(folder: Folder) -> None:
    write(folder.root / "other.yaml", OTHER)
    async with live_session(folder, agent="Other") as live:
        (folder.root / "other.yaml").unlink()
        updated = await live.wait_for(of(ev.GraphUpdatedEvent))
        assert updated.pinned is True
        assert live.session.current_agent.name == "Other"
        assert "staying on its previous definition" in updated.message


async def test_saves_during_a_load_apply_as_one_update(tmp_path: Path, folder: Folder) -> None:
    slow = SlowImports(tmp_path, folder)
    async with live_session(folder) as live:
        await slow.save_three_times_during_a_load()

        def updates() -> list[ev.GraphUpdatedEvent]:
            return [e for e in live.events if isinstance(e, ev.GraphUpdatedEvent)]

        await live.wait_for(lambda _: len(updates()) == 2)
        await anyio.sleep(QUIET_S)
        assert len(updates()) == 2  # the save that started the load, then the last of the others
        assert live.reloader.loads == 2
        assert live.session.graph.agents["Assistant"].instructions.source == "during 3"


async def test_edited_tool_module_changes_the_next_call(folder: Folder) -> None:
    async with live_session(folder) as live:
        write(folder.root / f"{folder.module}.py", TOOL.format(answer="raining"))
        await live.wait_for(of(ev.GraphUpdatedEvent))
        await live.session.send_message("get weather in Paris")
        end = await live.wait_for(of(ev.ToolEndEvent))
        assert end.output == "raining in Paris"


