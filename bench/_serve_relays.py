"""Browser-facing servers for bench_serve.py, one per process: ``python _serve_relays.py KIND UPSTREAM``.

Prints its ``ws://`` URL on the first line. Each browser socket gets one upstream Realtime
connection (bench/_server.py in paced mode):

- ``sdk``   the OpenAI Agents SDK browser demo's design (examples/realtime/app): one SDK
            ``RealtimeSession`` per socket; microphone audio arrives as JSON ``{"type": "audio",
            "data": [int16, ...]}`` and is ``struct.pack``-ed; every session event goes to the browser
            as JSON, audio as base64 (``{"type": "audio", "audio": "..."}``).
- ``floor`` a bare websockets relay: upstream audio deltas base64-decoded into binary frames,
            transcript deltas forwarded as JSON, binary microphone frames appended upstream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


async def floor(ws, upstream: str) -> None:  # type: ignore[no-untyped-def]
    async with connect(upstream, additional_headers={"Authorization": "Bearer x"}, max_size=None,
                       compression=None) as up:
        await up.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))

        async def down() -> None:
            async for raw in up:
                event = json.loads(raw)
                kind = event["type"]
                if kind == "response.output_audio.delta":
                    await ws.send(base64.b64decode(event["delta"]))
                elif kind == "response.output_audio_transcript.delta":
                    await ws.send(json.dumps({"type": "transcript", "delta": event["delta"]}))
            await ws.close()

        task = asyncio.ensure_future(down())
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    await up.send(json.dumps({"type": "input_audio_buffer.append",
                                              "audio": base64.b64encode(frame).decode()}))
        finally:
            task.cancel()


async def sdk(ws, upstream: str) -> None:  # type: ignore[no-untyped-def]
    from _clients import sdk_runner

    # one runner per socket, as in the demo: an SDK runner owns a single model connection
    session = await sdk_runner().run(model_config={"url": upstream, "api_key": "x"})
    async with session:
        async def down() -> None:
            async for event in session:
                if event.type == "audio":
                    await ws.send(json.dumps({"type": "audio", "audio": base64.b64encode(event.audio.data).decode()}))
                else:  # the demo serialises every event for its panes
                    await ws.send(json.dumps({"type": event.type}))
            await ws.close()

        task = asyncio.ensure_future(down())
        try:
            async for frame in ws:
                message = json.loads(frame)
                if message["type"] == "audio":
                    data = message["data"]
                    await session.send_audio(struct.pack(f"{len(data)}h", *data))
        finally:
            task.cancel()


async def main() -> None:
    kind, upstream = sys.argv[1], sys.argv[2]
    if kind == "sdk":
        from _clients import sdk_runner

        sdk_runner()  # import the SDK before the first socket, so no session pays for it

        handler = lambda ws: sdk(ws, upstream)  # noqa: E731
    else:
        handler = lambda ws: floor(ws, upstream)  # noqa: E731
    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        print(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
