"""EventQueue: the session's event stream (order, wake-ups, end, close, cancellation)."""

from __future__ import annotations

import anyio
import pytest

from realtime_graph.runtime.event_queue import EventQueue

pytestmark = pytest.mark.anyio


async def _drain(queue: EventQueue[int], out: list[int]) -> None:
    items = queue.items
    while items or await queue.wait():
        out.append(items.popleft())


async def test_buffered_items_come_out_in_order_then_the_end() -> None:
    queue = EventQueue[int]()
    assert [queue.put(i) for i in range(3)] == [True, True, True]
    queue.end()
    assert queue.put(99) is False  # dropped after end
    out: list[int] = []
    await _drain(queue, out)
    assert out == [0, 1, 2]
    assert await queue.wait() is False  # ended stays ended


async def test_wait_with_an_item_buffered_does_not_yield() -> None:
    queue = EventQueue[int]()
    queue.put(1)
    with anyio.CancelScope() as scope:
        scope.cancel()
        assert await queue.wait() is True  # no checkpoint, so the cancelled scope is not noticed


async def test_a_waiting_reader_wakes_for_each_put_and_for_the_end() -> None:
    queue = EventQueue[int]()
    out: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drain, queue, out)
        await anyio.wait_all_tasks_blocked()
        queue.put(1)
        await anyio.wait_all_tasks_blocked()
        assert out == [1]
        queue.put(2)
        queue.put(3)
        await anyio.wait_all_tasks_blocked()
        assert out == [1, 2, 3]
        queue.end()
    assert out == [1, 2, 3]


async def test_two_waiting_readers_share_items_and_both_see_the_end() -> None:
    queue = EventQueue[int]()
    first: list[int] = []
    second: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drain, queue, first)
        tg.start_soon(_drain, queue, second)
        await anyio.wait_all_tasks_blocked()
        for i in range(4):
            queue.put(i)
            await anyio.wait_all_tasks_blocked()
        queue.end()
    assert sorted(first + second) == [0, 1, 2, 3]


async def test_close_drops_items_ends_waiters_and_later_waits_raise() -> None:
    queue = EventQueue[int]()
    out: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drain, queue, out)
        await anyio.wait_all_tasks_blocked()
        queue.close()  # the waiting reader gets the end, as with a closed memory stream
    queue.put(1)
    assert list(queue.items) == []
    with pytest.raises(anyio.ClosedResourceError):
        await queue.wait()


async def test_a_cancelled_wait_loses_nothing() -> None:
    queue = EventQueue[int]()
    with anyio.move_on_after(0.01):
        await queue.wait()
    queue.put(7)  # sets the abandoned wake-up; harmless
    assert await queue.wait() is True
    assert queue.items.popleft() == 7
    out: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drain, queue, out)
        await anyio.wait_all_tasks_blocked()
        queue.put(8)
        queue.end()
    assert out == [8]
