"""Helpers for transport tests: strict validation of server events against the official types,
and a client that drives the simulator through OpenAITransport over a loopback WebSocket."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest
from pydantic import BaseModel, TypeAdapter

from realtime_graph.transports import ConnectRequest, SimulatorTransport
from realtime_graph.transports import protocol as p

# Fields the live server sends that the openai models do not declare.
_KNOWN_EXTRAS = {"object", "id", "expires_at", "obfuscation"}


def _extras(model: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(model, BaseModel):
        for name in (model.model_extra or {}):
            if name not in _KNOWN_EXTRAS:
                found.append(f"{path}.{name}")
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, value in enumerate(model):
            found += _extras(value, f"{path}[{i}]")
    return found


@pytest.fixture(scope="session")
def validate_server_event():
    from openai.types.realtime import RealtimeServerEvent

    adapter = TypeAdapter(RealtimeServerEvent)

    def check(event: dict[str, Any]) -> None:
        model = adapter.validate_python(event)
        assert model.type == event["type"]
        assert _extras(model, event["type"]) == []
        assert model.model_dump(mode="json", exclude_unset=True) == event, event["type"]

    return check


class Client:
    """A connection that validates every server event it reads."""

    def __init__(self, conn, check) -> None:
        self.conn, self.check, self.events = conn, check, []
        self._iter = conn.__aiter__()

    async def send(self, event: dict[str, Any]) -> None:
        await self.conn.send(event)

    async def until(self, kind: str) -> list[dict[str, Any]]:
        got = []
        with anyio.fail_after(5):
            async for event in self._iter:
                self.check(event)
                got.append(event)
                if event["type"] == kind:
                    break
        self.events += got
        return got


@pytest.fixture
def connect(validate_server_event):
    """``async with connect(simulator, request, session) as (client, session.created event)``."""

    @contextlib.asynccontextmanager
    async def open_(simulator=None, request=None, session=None):
        request = request if request is not None else ConnectRequest(model="gpt-realtime")
        async with SimulatorTransport(simulator).connect(request) as conn:
            client = Client(conn, validate_server_event)
            created = await client.until("session.created")
            if session is not None:
                await client.send(p.session_update({"type": "realtime", **session}))
                await client.until("session.updated")
            yield client, created[0]

    return open_
