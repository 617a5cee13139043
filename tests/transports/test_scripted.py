"""The public scripted transport double."""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.errors import ConnectionLost
from realtime_graph.transports.base import ConnectRequest
from realtime_graph.transports.scripted import (
    CLOSE,
    SESSION_CREATED,
    ScriptedTransport,
    Step,
    UnconsumedSteps,
    UnexpectedSend,
)

pytestmark = pytest.mark.anyio


async def _drain(connection) -> list[dict]:
    out = []
    with anyio.fail_after(2):
        async for event in connection:
            out.append(event)
    return out


async def test_steps_match_in_order_and_emit_replies() -> None:
    transport = ScriptedTransport([
        Step(expect="session.update", emit=[{"type": "session.updated"}]),
        Step(expect={"type": "response.create", "response": {"instructions": "x"}},
             emit=[{"type": "response.created"}, CLOSE]),
    ])
    async with transport.connect(ConnectRequest(model="m")) as conn:
        await conn.send({"type": "session.update", "session": {"type": "realtime"}})
        await conn.send({"type": "response.create", "response": {"instructions": "x", "tools": []}})
        got = await _drain(conn)
    assert [e["type"] for e in got] == ["session.created", "session.updated", "response.created"]
    assert got[0] is SESSION_CREATED or got[0] == SESSION_CREATED
    assert transport.requests == [ConnectRequest(model="m")]
    assert [e["type"] for e in transport.sent] == ["session.update", "response.create"]


async def test_predicate_expectations_and_push() -> None:
    transport = ScriptedTransport([Step(expect=lambda e: e.get("audio") == "AA==")], on_connect=())
    async with transport.connect(ConnectRequest()) as conn:
        await conn.send({"type": "input_audio_buffer.append", "audio": "AA=="})
        transport.push({"type": "error"}, CLOSE)
        assert [e["type"] for e in await _drain(conn)] == ["error"]


async def test_unexpected_send_names_actual_and_expected() -> None:
    transport = ScriptedTransport([Step(expect="response.create")])
    with pytest.raises(UnexpectedSend) as info:
        async with transport.connect(ConnectRequest()) as conn:
            await conn.send({"type": "response.cancel"})
    assert info.value.actual == {"type": "response.cancel"} and info.value.expected == "response.create"
    assert "the script expected 'response.create'" in str(info.value)


async def test_unconsumed_steps_raised_at_close_when_strict() -> None:
    transport = ScriptedTransport([Step(expect="session.update"), Step(expect="response.create")])
    with pytest.raises(UnconsumedSteps, match=r"2 scripted step\(s\) never matched: 'session.update', "
                                              r"'response.create'"):
        async with transport.connect(ConnectRequest()):
            pass
    lax = ScriptedTransport([Step(expect="response.create")], strict=False)
    async with lax.connect(ConnectRequest()) as conn:
        await conn.send({"type": "response.cancel"})  # recorded, not matched
    assert lax.sent == [{"type": "response.cancel"}] and len(lax.remaining) == 1


async def test_connection_lost_is_raised_from_iteration_and_send_after_close() -> None:
    lost = ConnectionLost("dropped", code=1006)
    transport = ScriptedTransport(on_connect=({"type": "session.created"}, lost))
    async with transport.connect(ConnectRequest()) as conn:
        with pytest.raises(ConnectionLost, match="dropped"):
            await _drain(conn)
        await conn.aclose()
        with pytest.raises(ConnectionLost):
            await conn.send({"type": "response.create"})
