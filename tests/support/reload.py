"""Definition folders on disk and a collector of reloader deliveries, for the reload tests."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import pytest

from realtime_graph.errors import ConfigError
from realtime_graph.graph.model import Graph
from realtime_graph.reload import GraphReloader

GRAPH = "kind: graph\nstart: Assistant\n"
AGENT = """\
kind: agent
name: Assistant
instructions: "{text}"
tools:
  - entrypoint: "{module}:get_weather"
"""
TOOL = '''\
def get_weather(city: str) -> str:
    """Weather for a city."""
    return "{answer} in " + city
'''
QUIET_S = 0.4  # longer than debounce + a load: nothing more may arrive in this time
TIMEOUT_S = 5.0


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


class Folder:
    """A definition folder with one agent whose tool module has a unique name per test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.module = f"tools_{uuid.uuid4().hex[:8]}"
        root.mkdir(exist_ok=True)

    def populate(self, base: Path | None = None, *, text: str = "v1", answer: str = "sunny") -> None:
        base = base or self.root
        write(base / "graph.yaml", GRAPH)
        write(base / "assistant.yaml", AGENT.format(text=text, module=self.module))
        write(base / f"{self.module}.py", TOOL.format(answer=answer))


SLOW_TOOL = '''\
import pathlib, time

# Each (re-)import is logged, and slow while the flag file exists: a load the test can save during.
with pathlib.Path({log!r}).open("a") as log:
    log.write("import\\n")
if pathlib.Path({flag!r}).exists():
    time.sleep({seconds})


def get_weather(city: str) -> str:
    """Weather for a city."""
    return "sunny in " + city
'''
SLOW_S = 0.8
SAVE_GAP_S = 0.15  # longer than a watch batch's quiet period: every save is its own batch


class SlowImports:
    """Makes the folder's tool module (re-imported by every load) slow on demand."""

    def __init__(self, tmp_path: Path, folder: Folder) -> None:
        self.folder = folder
        self.log = tmp_path / "imports.log"
        self.flag = tmp_path / "slow"
        write(folder.root / f"{folder.module}.py",
              SLOW_TOOL.format(log=str(self.log), flag=str(self.flag), seconds=SLOW_S))

    def imports(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    async def save_three_times_during_a_load(self) -> None:
        """Save once, and three more times while the load that save started is importing."""
        before = self.imports()
        self.flag.touch()
        write(self.folder.root / "assistant.yaml", AGENT.format(text="during 0", module=self.folder.module))
        with anyio.fail_after(TIMEOUT_S):
            while self.imports() == before:  # the load has started (and sleeps in the import)
                await anyio.sleep(0.01)
        for i in (1, 2, 3):
            await anyio.sleep(SAVE_GAP_S)
            write(self.folder.root / "assistant.yaml", AGENT.format(text=f"during {i}", module=self.folder.module))
        self.flag.unlink()  # the next load is fast


class Collector:
    """Receives on_graph/on_error callbacks on a memory stream so tests can await them."""

    def __init__(self) -> None:
        self.send, self.receive = anyio.create_memory_object_stream[tuple[str, object]](100)
        self.at: list[float] = []

    def on_graph(self, graph: Graph) -> None:
        self.at.append(time.monotonic())
        self.send.send_nowait(("graph", graph))

    def on_error(self, error: ConfigError) -> None:
        self.send.send_nowait(("error", error))

    async def next(self) -> tuple[str, object]:
        with anyio.fail_after(TIMEOUT_S):
            return await self.receive.receive()

    async def nothing_more(self) -> None:
        with anyio.move_on_after(QUIET_S):
            item = await self.receive.receive()
            pytest.fail(f"unexpected delivery: {item}")


def load_initial(folder: Folder) -> Graph:
    from realtime_graph.config import load

    return load(folder.root)


def reloader_for(folder: Folder, collector: Collector, initial: Graph | None) -> GraphReloader:
    return GraphReloader(folder.root, on_graph=collector.on_graph, on_error=collector.on_error,
                         initial=initial)
