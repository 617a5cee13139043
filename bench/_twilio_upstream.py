"""The Realtime side for bench_twilio.py: ``python _twilio_upstream.py N_DELTAS [PORT]`` prints its URL.

After a connection's first ``session.update`` it streams one response of N_DELTAS audio deltas of
800 bytes (100 ms of µ-law at 8 kHz), each followed by a transcript delta, on an absolute schedule
(delta k at t0 + k * 100 ms), then ``response.done``, and keeps the socket open until the client
leaves. Caller appends are parsed and dropped. PORT (default 0: a free one) is bound with
SO_REUSEPORT, so several of these processes share one port and the kernel spreads connections
over them: a single Python process is otherwise the first thing to fall behind. Event shapes and
the streaming loop are bench/_serve_upstream.py's.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys

from websockets.asyncio.server import serve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve_upstream
import _server


async def main() -> None:
    n = int(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    _server.AUDIO = base64.b64encode(bytes(800)).decode()
    async with serve(lambda ws: _serve_upstream.handler(ws, n), "127.0.0.1", port, max_size=None,
                     compression=None, reuse_port=True) as server:
        print(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime?model=gpt-realtime", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
