"""A minimal GA Realtime server for benchmarks, run as its own process so it never competes
with the measured client for the interpreter.

Modes:
  stream   after the client's first session.update: one response streaming N audio deltas
           (100 ms of PCM each) interleaved with N transcript deltas, then response.done and a
           clean close (1000).
  paced    as stream, one event every --interval-ms, each carrying "_ts" (time.monotonic() at
           send) so the client can measure server-event -> session-event latency.
  tool     on response.create: a function_call item for --tool; times (at the server) from
           output_item.done to the client's function_call_output; --out gets one JSON line each.
  handoff  as tool, but times output_item.done -> the next session.update.
  idle     session.created / session.updated only (memory per idle session).

Only `websockets` is imported: the same code serves every client variant.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time

from websockets.asyncio.server import serve

AUDIO = ""  # set from --chunk-ms: base64 of that many ms of 24 kHz PCM16
IDS = {"response_id": "resp_bench", "item_id": "item_bench", "output_index": 0, "content_index": 0}
SESSION = {
    "type": "realtime", "object": "realtime.session", "id": "sess_bench", "model": "gpt-realtime",
    "output_modalities": ["audio"], "instructions": "", "tools": [], "tool_choice": "auto",
    "max_output_tokens": "inf", "tracing": None, "prompt": None, "expires_at": 0,
    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": None,
                        "noise_reduction": None, "turn_detection": None},
              "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "ash", "speed": 1.0}},
    "include": None,
}
_counter = 0


def ev(type_: str, **fields: object) -> dict[str, object]:
    global _counter
    _counter += 1
    return {"type": type_, "event_id": f"event_{_counter}", **fields}


def item(status: str, content: list[object]) -> dict[str, object]:
    return {"id": "item_bench", "type": "message", "status": status, "role": "assistant", "content": content}


def response(status: str, output: list[object]) -> dict[str, object]:
    return {"object": "realtime.response", "id": "resp_bench", "status": status, "status_details": None,
            "output": output, "conversation_id": "conv_bench", "output_modalities": ["audio"],
            "max_output_tokens": "inf", "audio": None, "usage": None, "metadata": None}


def response_events(n: int) -> list[dict[str, object]]:
    out = [ev("response.created", response=response("in_progress", [])),
           ev("response.output_item.added", response_id="resp_bench", output_index=0, item=item("in_progress", [])),
           ev("response.content_part.added", part={"type": "audio", "transcript": ""}, **IDS)]
    for _ in range(n):
        out.append(ev("response.output_audio.delta", delta=AUDIO, **IDS))
        out.append(ev("response.output_audio_transcript.delta", delta="word ", **IDS))
    done_item = item("completed", [{"type": "output_audio", "transcript": "word " * n}])
    out += [ev("response.output_audio.done", **IDS),
            ev("response.output_audio_transcript.done", transcript="word " * n, **IDS),
            ev("response.content_part.done", part={"type": "audio", "transcript": "word " * n}, **IDS),
            ev("response.output_item.done", response_id="resp_bench", output_index=0, item=done_item),
            ev("response.done", response=response("completed", [done_item]))]
    return out


def call_events(tool: str, n: int) -> list[dict[str, object]]:
    call = {"id": f"item_call{n}", "type": "function_call", "status": "completed", "name": tool,
            "call_id": f"call_{n}", "arguments": "{}"}
    return [ev("response.created", response=response("in_progress", [])),
            ev("response.output_item.done", response_id="resp_bench", output_index=0, item=call),
            ev("response.done", response=response("completed", [call]))]


async def handler(ws, args: argparse.Namespace, out) -> None:  # type: ignore[no-untyped-def]
    await ws.send(json.dumps(ev("session.created", session=SESSION)))
    started = False
    calls = 0
    sent_at = 0.0
    async for raw in ws:
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "session.update":
            await ws.send(json.dumps(ev("session.updated", session=SESSION)))
            if args.mode == "handoff" and sent_at:
                out.write(json.dumps({"handoff_s": time.monotonic() - sent_at}) + "\n")
                out.flush()
                sent_at = 0.0
            if args.mode in ("stream", "paced") and not started:
                started = True
                for event in response_events(args.n):
                    if args.mode == "paced":
                        event["_ts"] = time.monotonic()
                        await ws.send(json.dumps(event))
                        await asyncio.sleep(args.interval_ms / 1000)
                    else:
                        await ws.send(json.dumps(event))
                await ws.close(1000)
                return
        elif kind == "conversation.item.create" and msg["item"].get("type") == "function_call_output":
            if args.mode == "tool" and sent_at:
                out.write(json.dumps({"tool_s": time.monotonic() - sent_at}) + "\n")
                out.flush()
                sent_at = 0.0
        elif kind == "response.create" and args.mode in ("tool", "handoff"):
            if calls >= args.n:
                await ws.close(1000)
                return
            calls += 1
            tools = args.tool.split(",")  # handoff mode alternates: transfer_to_other, transfer_to_bench
            for event in call_events(tools[(calls - 1) % len(tools)], calls):
                if event["type"] == "response.output_item.done":
                    sent_at = time.monotonic()
                await ws.send(json.dumps(event))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True, choices=["stream", "paced", "tool", "handoff", "idle"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument("--tool", default="ping")
    parser.add_argument("--out", default="/dev/null")
    parser.add_argument("--chunk-ms", type=int, default=100)
    args = parser.parse_args()
    global AUDIO
    AUDIO = base64.b64encode(bytes(48 * args.chunk_ms)).decode()
    with open(args.out, "a") as out:
        async with serve(lambda ws: handler(ws, args, out), "127.0.0.1", 0, max_size=None,
                         compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", flush=True)
            await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
