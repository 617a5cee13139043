"""The session's send side across reconnects: held in order, bounded audio, no duplicate outputs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime_graph.errors import ConnectionLost
from realtime_graph.runtime.link import MAX_HELD_AUDIO, Link
from realtime_graph.transports.base import Connection

pytestmark = pytest.mark.anyio


class Wire(Connection):
    def __init__(self, *, dead: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.dead = dead

    async def send(self, event: dict[str, Any]) -> None:
        if self.dead:
            raise ConnectionLost("gone", code=1006)
        self.sent.append(event)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return
        yield {}

    async def aclose(self) -> None:
        self.dead = True


def user(text: str) -> dict[str, Any]:
    return {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}


def output(call_id: str) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id,
                                                         "output": "x"}}


async def test_events_are_held_while_down_and_sent_in_order_when_up() -> None:
    old, new = Wire(), Wire()
    link = Link(old, reconnects=True)
    await link.send(user("one"))
    assert len(link.pending) == 1  # not acknowledged yet
    link.down()
    await link.send(user("two"))
    await link.send(output("c1"))
    await link.send(output("c2"))
    await link.send({"type": "conversation.item.truncate", "item_id": "a1", "content_index": 0, "audio_end_ms": 5})
    await link.send({"type": "response.create"})
    link.drop_held("response.create")
    assert old.sent == [user("one")]
    sent = await link.bring_up(new, replayed_calls=frozenset({"c1"}), replayed_items=frozenset({"a1"}))
    assert sent == new.sent == [user("two"), output("c2")]
    assert link.up and link.current is new
    await link.send(user("three"))
    assert new.sent[-1] == user("three")


async def test_a_failed_send_takes_the_link_down_without_raising_when_reconnecting() -> None:
    link = Link(Wire(dead=True), reconnects=True)
    await link.send(user("lost?"))
    assert not link.up
    assert link.pending.take() == [user("lost?")]  # sent again after the replay


async def test_without_reconnect_a_failed_send_raises() -> None:
    link = Link(Wire(dead=True), reconnects=False)
    with pytest.raises(ConnectionLost):
        await link.send(user("x"))


async def test_held_audio_is_bounded_and_a_failed_link_drops_everything() -> None:
    link = Link(Wire(), reconnects=True)
    link.down()
    chunk = {"type": "input_audio_buffer.append", "audio": "A" * (MAX_HELD_AUDIO // 2)}
    for _ in range(3):
        await link.send(chunk)
    assert link.dropped_audio == 1
    link.fail(ConnectionLost("over"))
    await link.send(user("late"))  # nowhere to go: dropped, never raised into a tool task
    wire = Wire()
    assert await link.bring_up(wire, replayed_calls=frozenset(), replayed_items=frozenset()) == []
    assert not link.up and wire.sent == []
