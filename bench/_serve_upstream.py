"""The Realtime side for bench_serve.py: ``python _serve_upstream.py N_DELTAS [PERIOD_S]`` prints its URL.

After a connection's first ``session.update`` it streams one response of N_DELTAS 100 ms audio
deltas (each followed by a transcript delta) on an absolute schedule (delta k at t0 + k * PERIOD_S,
default 0.1 s, so a slow send never shifts later ones), then ``response.done``, and keeps the socket open until
the client leaves. Microphone appends are parsed and dropped. Event shapes: bench/_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys

from websockets.asyncio.server import serve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _server

PERIOD = 0.1
_STREAMS: set[asyncio.Future[None]] = set()


async def handler(ws, n: int) -> None:  # type: ignore[no-untyped-def]
    await ws.send(json.dumps(_server.ev("session.created", session=_server.SESSION)))
    started = False
    async for raw in ws:
        msg = json.loads(raw)
        if msg.get("type") == "session.update":
            await ws.send(json.dumps(_server.ev("session.updated", session=_server.SESSION)))
            if not started:
                started = True
                task = asyncio.ensure_future(stream(ws, n))
                _STREAMS.add(task)  # referenced until done
                task.add_done_callback(_STREAMS.discard)


async def stream(ws, n: int) -> None:  # type: ignore[no-untyped-def]
    period = PERIOD
    events = _server.response_events(n)
    head, body, tail = events[:3], events[3:3 + 2 * n], events[3 + 2 * n:]
    loop = asyncio.get_running_loop()
    try:
        for event in head:
            await ws.send(json.dumps(event))
        t0 = loop.time()
        for k in range(n):
            delay = t0 + k * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(json.dumps(body[2 * k]))
            await ws.send(json.dumps(body[2 * k + 1]))
        for event in tail:
            await ws.send(json.dumps(event))
    except Exception:
        pass


async def main() -> None:
    global PERIOD
    n = int(sys.argv[1])
    if len(sys.argv) > 2:
        PERIOD = float(sys.argv[2])
    _server.AUDIO = base64.b64encode(bytes(4800)).decode()
    async with serve(lambda ws: handler(ws, n), "127.0.0.1", 0, max_size=None, compression=None) as server:
        print(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime?model=gpt-realtime", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
