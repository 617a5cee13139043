"""Hot reload: watch a definition folder and deliver every new graph that passes validation.

Flow (all owned by one task group inside :meth:`GraphReloader.run`)::

    awatch(folder, recursive)  ─┐
    awatch(module dirs)        ─┴─> "reload wanted" stream (capacity 1) ──> loader task
                                                                          config.load(reimport=True)
                                                                          in a worker thread
                                                                          ──> on_graph / on_error

The stream has room for one pending request and further requests are dropped while one is
pending, so any burst of saves (including saves made while a load runs) costs at most one more
load, which always reads the newest files.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..config import shown_path
from ..errors import ConfigError, Issue
from .changes import DefinitionChangeFilter, user_module_files

if TYPE_CHECKING:
    from ..graph.model import Graph

__all__ = ("DEFAULT_LOAD_TIMEOUT_S", "GraphReloader")

DEFAULT_LOAD_TIMEOUT_S = 10.0
"""How long one reload may take (a module that sleeps on import) before it is reported as failed."""
_WATCH_RETRY_S = 0.5  # pause before watching again after the watcher failed

# awatch's ``debounce`` caps how long one batch may keep growing while files keep changing;
# ``step`` (our debounce_ms) is the quiet period that ends a batch.
_MAX_BATCH_MS = 1000


async def _set_when_cancelled(event: anyio.Event) -> None:
    # awatch waits in a worker thread that cancellation cannot interrupt; the thread polls the
    # stop event every ``step`` ms, so setting it is what makes cancellation prompt.
    try:
        await anyio.sleep_forever()
    finally:
        event.set()


def _fingerprint(version: str, module_files: Iterable[Path]) -> str:
    # Graph.version hashes the definition files; a tool module edit leaves it unchanged yet
    # changes behaviour, so the module sources take part in "is this graph new?".
    digest = hashlib.blake2b(version.encode(), digest_size=16)
    for path in sorted(module_files):
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
    return digest.hexdigest()


def _request(send: MemoryObjectSendStream[None]) -> None:
    try:
        send.send_nowait(None)
    except anyio.WouldBlock:
        pass  # a reload is already pending: it will read these changes too


def _watch_error(root: Path, exc: Exception) -> ConfigError:
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:  # awatch runs a task group
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()
    detail = text[0] if text else type(exc).__name__
    code = "RG109" if "decode" in detail else "RG106"
    return ConfigError([Issue(code=code, message=f"watching the folder failed: {detail}; watching again",
                              file=shown_path(root), hint="rename files whose names are not UTF-8")])


class GraphReloader:
    """Watches ``path`` and calls ``on_graph`` with each new valid graph, ``on_error`` otherwise.

    Every change runs the full pipeline (``config.load(path, reimport=True)``: parse, schema,
    graph checks, entrypoint import with edited user modules re-imported) in a worker thread.
    A graph identical to the last one delivered (same version, same tool module sources) is not
    delivered again. ``initial`` is the graph the caller already runs: it seeds that comparison
    and the set of tool modules to watch. ``debounce_ms`` is the quiet time that ends a burst of
    changes. ``force_polling`` is passed to watchfiles (network and some container file systems
    need it). :attr:`loads` counts pipeline runs.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_graph: Callable[[Graph], None],
        on_error: Callable[[ConfigError], None],
        debounce_ms: int = 50,
        initial: Graph | None = None,
        force_polling: bool | None = None,
        load_timeout_s: float = DEFAULT_LOAD_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self.loads = 0
        self._on_graph = on_graph
        self._on_error = on_error
        self._debounce_ms = max(1, int(debounce_ms))
        self._force_polling = force_polling
        self._load_timeout_s = load_timeout_s
        # a load abandoned at its time-box still runs (and holds the import lock) until it ends
        self._straggler: threading.Event | None = None
        self._send: MemoryObjectSendStream[None] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._initial_version = initial.version if initial is not None else None
        self._module_files = user_module_files(initial) if initial is not None else frozenset()
        self._fingerprint: str | None = None  # of the graph last delivered; set in run()
        # A single definition file is watched through its folder (editors replace files).
        self._root = self.path if self.path.is_dir() else self.path.parent
        self._modules_changed = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Watch until cancelled. With ``task_group.start(reloader.run)`` it returns once the
        watches are in place, so a file written afterwards is guaranteed to be seen."""
        if not self.path.exists():
            raise ConfigError([Issue(code="RG106", message=f"{self.path} does not exist", file=str(self.path),
                                     hint="pass the definition folder, e.g. `rtgraph run agents.d`")])
        send, receive = anyio.create_memory_object_stream[None](1)
        async with send, receive, anyio.create_task_group() as tg:
            self._send, self._task_group = send, tg
            await tg.start(self._watch_folder, send)
            await tg.start(self._watch_modules, send)
            if self._initial_version is not None:
                # Once the watches are up, so every later edit reaches them; the loader starts
                # after this, so no load compares against a missing fingerprint.
                self._fingerprint, stale = await anyio.to_thread.run_sync(self._baseline, self._initial_version)
                if stale:  # saved between the caller's own load and the watches going up
                    send.send_nowait(None)
            tg.start_soon(self._load_each, receive)
            task_status.started()

    # -- watching ---------------------------------------------------------------------------

    async def _watch_folder(self, send: MemoryObjectSendStream[None],
                            *, task_status: TaskStatus[None]) -> None:
        await self._watch([self._root], recursive=True, watch_filter=DefinitionChangeFilter(self._root),
                          send=send, stop=anyio.Event(), task_status=task_status)

    async def _watch_modules(self, send: MemoryObjectSendStream[None],
                             *, task_status: TaskStatus[None]) -> None:
        # Modules outside the folder: watch their directories, not recursively, and start over
        # whenever a reload changes which modules the graph uses.
        folder = os.path.join(os.path.abspath(self._root), "")
        status: TaskStatus[None] = task_status
        while True:
            self._modules_changed = changed = anyio.Event()
            files = [f for f in self._module_files if not str(f).startswith(folder)]
            dirs = sorted({f.parent for f in files})
            if dirs:
                await self._watch(dirs, recursive=False, watch_filter=DefinitionChangeFilter(self._root, files),
                                  send=send, stop=changed, task_status=status)
            else:
                status.started()
                await changed.wait()
            status = anyio.TASK_STATUS_IGNORED  # started() is allowed once: only the first round reports

    async def _watch(self, paths: list[Path], *, recursive: bool, watch_filter: DefinitionChangeFilter,
                     send: MemoryObjectSendStream[None], stop: anyio.Event,
                     task_status: TaskStatus[None]) -> None:
        from watchfiles import awatch

        async with anyio.create_task_group() as tg:
            tg.start_soon(_set_when_cancelled, stop)
            status: TaskStatus[None] | None = task_status
            restarted = False
            while not stop.is_set():
                changes = awatch(*paths, watch_filter=watch_filter, debounce=_MAX_BATCH_MS,
                                 step=self._debounce_ms, stop_event=stop, recursive=recursive,
                                 force_polling=self._force_polling)
                if status is not None:
                    # The watches are created synchronously on the first __anext__, before it suspends.
                    status.started()
                    status = None
                if restarted:  # changes made while the watcher was down: the next load reads them
                    _request(send)
                try:
                    async for _batch in changes:
                        _request(send)
                except Exception as exc:  # e.g. a file name the watcher cannot decode appeared
                    self._on_error(_watch_error(paths[0], exc))
                    await anyio.sleep(_WATCH_RETRY_S)
                    restarted = True
            tg.cancel_scope.cancel()

    # -- loading ----------------------------------------------------------------------------

    async def _load_each(self, receive: MemoryObjectReceiveStream[None]) -> None:
        async for _ in receive:
            await self.reload()

    async def reload(self) -> Graph | None:
        """Run the pipeline once now; deliver and return the graph if it is new and valid.

        A load that takes longer than ``load_timeout_s`` (a module that sleeps or loops on
        import) is reported through ``on_error`` and abandoned: its thread finishes in the
        background, and later edits are loaded as soon as it lets go of the import lock.
        """
        if self._straggler is not None and not self._straggler.is_set() and self._task_group is not None:
            return None  # it holds the import lock; when it ends, _after_straggler asks for a load
        self.loads += 1
        done = threading.Event()
        try:
            with anyio.fail_after(self._load_timeout_s):
                graph, module_files, fingerprint = await anyio.to_thread.run_sync(
                    self._load_marked, done, abandon_on_cancel=True)
        except ConfigError as exc:
            self._on_error(exc)
            return None
        except TimeoutError:
            self._straggler = done
            if self._task_group is not None:
                self._task_group.start_soon(self._after_straggler, done)
            self._on_error(ConfigError([Issue(
                code="RG302", message=f"reload took longer than {self._load_timeout_s:g}s and was abandoned "
                "(a module that is slow to import?)", file=shown_path(self.path),
                hint="make the module import quickly; the next save is loaded as soon as the import ends")]))
            return None
        if fingerprint == self._fingerprint:
            return None
        self._fingerprint = fingerprint
        if module_files != self._module_files:
            self._module_files = module_files
            self._modules_changed.set()
        self._on_graph(graph)
        return graph

    async def _after_straggler(self, done: threading.Event) -> None:
        while not done.is_set():
            await anyio.sleep(0.05)
        if self._send is not None:
            _request(self._send)  # the edits saved meanwhile

    def _load_marked(self, done: threading.Event) -> tuple[Graph, frozenset[Path], str]:
        try:
            return self._load()
        finally:
            done.set()

    def _baseline(self, version: str) -> tuple[str, bool]:
        """The fingerprint of the caller's graph (its module sources read once, now) and whether
        the definition files on disk already differ from the ones it was loaded from."""
        from ..config import folder_version

        try:
            stale = folder_version(self.path) != version
        except OSError:
            stale = True
        return _fingerprint(version, self._module_files), stale

    def _load(self) -> tuple[Graph, frozenset[Path], str]:
        from ..config import load

        try:
            graph = load(self.path, reimport=True)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError([Issue(code="RG302", message=f"reload failed: {type(exc).__name__}: {exc}",
                                     file=shown_path(self.path), hint="fix the file and save again")]) from exc
        module_files = user_module_files(graph)
        return graph, module_files, _fingerprint(graph.version, module_files)

