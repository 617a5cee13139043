"""A local GA Realtime server that plays the model's side deterministically.

``Simulator`` serves the real protocol over a real WebSocket on loopback; ``SimulatorTransport``
connects an :class:`~realtime_graph.transports.openai.OpenAITransport` to a simulator served for
one connection's lifetime. Behaviour: default rules (``rules.py``), YAML scripts
(``script.py``) or cassette replay (``cassette.py``); see docs/simulator.md.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator

from ..base import Connection, ConnectRequest, Transport
from .callbook import CallBook, CallRecord
from .cassette import Cassette, CassetteReplay, load_cassette
from .engine import SimulatorEngine
from .script import load_script, parse_script
from .server import EngineLike, serve_engine
from .vocabulary import SimulatorScript

__all__ = ("CallBook", "CallRecord", "Simulator", "SimulatorScript", "SimulatorTransport", "load_script",
           "parse_script")


class Simulator:
    """A deterministic GA Realtime model on loopback.

    :param script: a :class:`SimulatorScript` or the path of a YAML script.
    :param cassette: path of a recorded session to replay instead (exclusive with ``script``).
    :param realtime_factor: 0.0 sends audio as fast as possible; 1.0 paces it in real time.
    :param calls: a :class:`CallBook` shared with the fake Calls API: ``?call_id=`` then attaches
        only to its accepted calls, starting with the accepted configuration.
    :raises ConfigError: the script or cassette is invalid (located at file and line).
    """

    def __init__(
        self,
        *,
        script: SimulatorScript | str | os.PathLike[str] | None = None,
        cassette: str | os.PathLike[str] | None = None,
        realtime_factor: float = 0.0,
        calls: CallBook | None = None,
    ) -> None:
        if script is not None and cassette is not None:
            raise ValueError("give the simulator a script or a cassette, not both")
        if realtime_factor < 0:
            raise ValueError(f"realtime_factor must be >= 0, got {realtime_factor}")
        self.script = script if isinstance(script, SimulatorScript) or script is None else load_script(script)
        self.cassette: Cassette | None = load_cassette(cassette) if cassette is not None else None
        self.realtime_factor = realtime_factor
        self._engines = 0
        self.calls = calls

    def __repr__(self) -> str:
        turns = len(self.script.turns) if self.script else 0
        return f"Simulator(turns={turns}, cassette={self.cassette is not None}, realtime_factor={self.realtime_factor})"

    def engine(self, model: str | None, call_id: str | None) -> EngineLike:
        """The pure state machine for one new connection. Each connection gets its own id seed:
        like the live API, a new session never reuses an item id of an earlier one (a
        reconnecting client replays items under their old ids)."""
        if self.cassette is not None:
            return CassetteReplay(self.cassette)
        seed, self._engines = self._engines, self._engines + 1
        engine = SimulatorEngine(model=model, call_id=call_id, script=self.script, now=time.time(), seed=seed)
        record = self.calls.attachable(call_id) if self.calls is not None and call_id is not None else None
        if record is not None and record.session is not None:
            engine.start_with(record.session)  # the call was accepted with this configuration
        return engine

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve until the block exits; yields the URL (``ws://127.0.0.1:PORT/v1/realtime``)."""
        async with serve_engine(self.engine, host=host, port=port,
                                realtime_factor=self.realtime_factor, calls=self.calls) as url:
            yield url


class SimulatorTransport(Transport):
    """A :class:`Transport` backed by a simulator served on loopback for each connection."""

    def __init__(self, simulator: Simulator | None = None) -> None:
        self.simulator = simulator if simulator is not None else Simulator()

    def __repr__(self) -> str:
        return f"SimulatorTransport({self.simulator!r})"

    @contextlib.asynccontextmanager
    async def connect(self, request: ConnectRequest) -> AsyncIterator[Connection]:
        from ..openai import OpenAITransport

        async with self.simulator.serve() as url:
            async with OpenAITransport(url=url, api_key="simulator").connect(request) as connection:
                yield connection
