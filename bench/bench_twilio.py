"""Concurrent Twilio calls one ``rtgraph serve`` process holds at real-time pace.

    python bench/bench_twilio.py --quick                 # N = 10, 50, 100; 5 s calls; 2 client processes
    python bench/bench_twilio.py --sessions 10 25 50 100 200 --seconds 10 --client-procs 3

Three kinds of process: bench/_twilio_upstream.py plays the Realtime API (``--upstream-procs``
of them on one port; after
each session's first ``session.update``, one response of 100 ms µ-law deltas of 800 bytes on an
absolute schedule), ``rtgraph serve`` (the real server, ``--transport openai --url`` upstream) in
between, and this script's client workers play Twilio: per call a signed ``POST /twilio/voice``,
the media stream its TwiML names (``connected``, ``start`` with the ``<Parameter>``s), the
caller's audio as one 160-byte ``media`` frame every 20 ms on an absolute schedule, and every
``mark`` echoed back on receipt (Twilio echoes at play time; the server's work is the same).

Per run: p50/p99 event lag at the caller (arrival of outbound frame i minus (i // 5) * 100 ms,
less the call's best such offset: the delay the server adds to the 20 ms framing of each 100 ms
delta; each call's first second is left out, see WARMUP_FRAMES), the server's own ``rtgraph_event_lag_seconds{channel="twilio"}`` share at or under 50 ms
(server event received → handled), the server's CPU per call (% of one core) and RSS per call,
and the client workers' CPU (near 100 % of a core per worker the load generator limits the run;
add ``--client-procs``). Never asserts. On a shared machine treat the figures as provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from bench_serve import cpu_seconds, pct, process, rss_kib  # noqa: E402

TOKEN = "bench-twilio-token"
PERIOD = 0.1
FRAMES_PER_DELTA = 5  # 800 bytes of µ-law per 100 ms delta = 5 frames of 160
GRAPH = """kind: graph
start: bench
---
kind: agent
name: bench
instructions: Benchmark agent.
"""


# -- one caller (in a client worker process) ----------------------------------------------------

async def caller(index: int, base: str, frames: int, arrivals: list[float], stop: asyncio.Event) -> None:
    import httpx2
    from websockets.asyncio.client import connect

    from realtime_graph.telephony import twilio_signature
    from realtime_graph.telephony.fakes.twilio_peer import parse_stream_twiml

    voice = base + "twilio/voice"
    call_sid = f"CA{index:032d}"
    form = {"CallSid": call_sid, "From": "+15550001111", "To": "+15550002222"}
    async with httpx2.AsyncClient(timeout=30) as client:
        answer = await client.post(voice, data=form, headers={"X-Twilio-Signature": twilio_signature(voice, form, TOKEN)})
    parsed = parse_stream_twiml(answer.text)
    if parsed is None:
        raise RuntimeError(f"voice answered {answer.status_code}: {answer.text[:200]}")
    url, params = parsed
    sid = f"MZ{index:032d}"
    media = json.dumps({"event": "media", "streamSid": sid, "media": {
        "track": "inbound", "chunk": "1", "timestamp": "0", "payload": base64.b64encode(b"\xff" * 160).decode()}}, separators=(",", ":"))
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({"event": "start", "streamSid": sid, "start": {
            "streamSid": sid, "accountSid": "AC0", "callSid": call_sid, "tracks": ["inbound"],
            "customParameters": params, "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                                        "channels": 1}}}))

        async def uplink() -> None:
            loop = asyncio.get_running_loop()
            t0, k = loop.time(), 0
            while not stop.is_set():
                await ws.send(media)
                k += 1
                await asyncio.sleep(max(0.0, t0 + k * 0.020 - loop.time()))

        task = asyncio.ensure_future(uplink())
        mark_prefix = '{"event":"mark","streamSid":"' + sid + '","mark":{"name":"'
        try:
            async for raw in ws:
                if raw.startswith('{"event":"media"'):
                    arrivals.append(time.monotonic())
                elif raw.startswith('{"event":"mark"'):
                    name = raw[raw.index('"name":"') + 8:-3]
                    await ws.send(mark_prefix + name + '"}}')
                if len(arrivals) >= frames:
                    break
        finally:
            task.cancel()
            await ws.send(json.dumps({"event": "stop", "streamSid": sid, "stop": {"callSid": call_sid}}))


WARMUP_FRAMES = 50
"""Frames of each call's first second left out of the lag: while the calls ramp up (200 new calls a
second: webhook, handshake, session start), the first reply frames of the early calls wait behind
the new calls' setup; the figure is about holding N calls, not admitting them."""


def lags(arrivals: list[float]) -> list[float]:
    offsets = [t - (i // FRAMES_PER_DELTA) * PERIOD for i, t in enumerate(arrivals)][WARMUP_FRAMES:]
    if not offsets:
        return []
    best = min(offsets)
    return [o - best for o in offsets]


async def worker_main(base: str, first: int, count: int, frames: int, ramp: float) -> None:
    stop = asyncio.Event()
    per: list[list[float]] = [[] for _ in range(count)]
    tasks = []
    for i in range(count):
        tasks.append(asyncio.ensure_future(caller(first + i, base, frames, per[i], stop)))
        await asyncio.sleep(ramp)
    await asyncio.sleep(0.5)  # the last calls' webhook, handshake and session start
    print("streaming", flush=True)  # the parent starts its CPU window here
    own0, wall0 = time.process_time(), time.monotonic()
    _, late = await asyncio.wait(tasks, timeout=frames / FRAMES_PER_DELTA * PERIOD + 15)
    own1, wall1 = time.process_time(), time.monotonic()
    stop.set()
    for task in late:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [repr(r) for r in results if isinstance(r, BaseException)]
    short = sum(1 for arrivals in per if len(arrivals) < frames)
    all_lags = [x for arrivals in per if len(arrivals) > 1 for x in lags(arrivals)]
    print(json.dumps({"lags": all_lags, "failed": failed, "short": short,
                      "cpu_pct": (own1 - own0) / max(wall1 - wall0, 1e-9) * 100}))


# -- one run ------------------------------------------------------------------------------------

def server_lag_share(base: str) -> tuple[float, int]:
    """Share of the server's twilio event-lag observations at or under 50 ms, and their count."""
    import httpx2

    text = httpx2.get(base + "metrics").text
    le = re.search(r'rtgraph_event_lag_seconds_bucket\{channel="twilio",le="0\.05"\} (\S+)', text)
    count = re.search(r'rtgraph_event_lag_seconds_count\{channel="twilio"\} (\S+)', text)
    if not le or not count or float(count.group(1)) == 0:
        return float("nan"), 0
    return float(le.group(1)) / float(count.group(1)), int(float(count.group(1)))


def run(n: int, seconds: float, procs: int, folder: str, upstream_procs: int = 2) -> dict[str, float]:
    deltas = int(seconds / PERIOD)
    frames = deltas * FRAMES_PER_DELTA
    upstream = [sys.executable, os.path.join(HERE, "_twilio_upstream.py"), str(deltas)]
    with process(upstream, marker="ws://") as (_, up), contextlib.ExitStack() as more:
        port = up.split(":")[2].split("/")[0]
        for _ in range(upstream_procs - 1):  # more processes on the same port (SO_REUSEPORT)
            more.enter_context(process([*upstream, port], marker="ws://"))
        argv = [sys.executable, "-m", "realtime_graph", "serve", folder, "--transport", "openai", "--url", up,
                "--port", "0", "--no-reload", "--max-sessions", "100000"]
        env = {"OPENAI_API_KEY": "x", "TWILIO_AUTH_TOKEN": TOKEN}
        with process(argv, env, "rtgraph: serving ") as (pid, base):
            rss0 = rss_kib(pid)
            counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
            ramp = 0.005 * procs  # 200 new calls per second in all
            workers = []
            first = 0
            for count in counts:
                workers.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--worker", base, str(first), str(count), str(frames),
                     str(ramp)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                         [os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])}))
                first += count
            for w in workers:  # every call connected and streaming
                assert w.stdout is not None
                w.stdout.readline()
            cpu0, wall0, rss = cpu_seconds(pid), time.monotonic(), rss_kib(pid)
            time.sleep(max(1.0, seconds - 2.0))
            cpu1, wall1 = cpu_seconds(pid), time.monotonic()
            outs = [json.loads(w.communicate()[0] or "{}") for w in workers]
            share, observed = server_lag_share(base)
    all_lags = sorted(x for out in outs for x in out.get("lags", []))
    failed = [f for out in outs for f in out.get("failed", ["worker died"])]
    if failed:
        print(f"    {len(failed)} calls failed, e.g. {failed[0]}", file=sys.stderr)
    return {"n": n, "p50_ms": pct(all_lags, 0.5) * 1000, "p99_ms": pct(all_lags, 0.99) * 1000,
            "server_le_50ms": share, "server_observations": observed,
            "cpu_pct_per_call": (cpu1 - cpu0) / (wall1 - wall0) / n * 100, "kib_per_call": (rss - rss0) / n,
            "failed": len(failed) + sum(out.get("short", 0) for out in outs),
            "client_cpu_pct": max((out.get("cpu_pct", 0.0) for out in outs), default=0.0),
            "load": os.getloadavg()[0]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base, first, count, frames, ramp = sys.argv[2:7]
        asyncio.run(worker_main(base, int(first), int(count), int(frames), float(ramp)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 10, 50, 100; 5 s calls")
    parser.add_argument("--sessions", type=int, nargs="+", help="the N values to run")
    parser.add_argument("--seconds", type=float, help="assistant audio per call (default 5 quick, else 10)")
    parser.add_argument("--client-procs", type=int, default=2, help="client worker processes (default 2)")
    parser.add_argument("--upstream-procs", type=int, default=2,
                        help="fake Realtime API processes sharing one port (default 2)")
    args = parser.parse_args()
    sessions = args.sessions or ([10, 50, 100] if args.quick else [10, 50, 100, 200, 400])
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "bench.yaml"), "w") as f:
            f.write(GRAPH)
        for n in sessions:
            r = run(n, seconds, args.client_procs, folder, args.upstream_procs)
            rows.append(r)
            print(f"  N={n:4}: p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  server lag <= 50 ms "
                  f"{r['server_le_50ms'] * 100:6.2f} % of {r['server_observations']}  cpu/call "
                  f"{r['cpu_pct_per_call']:.3f} %  {r['kib_per_call']:.1f} KiB  failed {r['failed']:.0f}  "
                  f"(clients' CPU {r['client_cpu_pct']:.0f} %, load {r['load']:.1f})", flush=True)
    ok = [r["n"] for r in rows if r["p99_ms"] < 50 and r["server_le_50ms"] >= 0.99 and not r["failed"]]
    held = max(ok) if ok else 0
    print(f"\n# largest N with p99 lag < 50 ms (caller side and server side), {seconds:g} s calls, 20 ms frames: "
          f"{held if held < max(sessions) else f'>= {held}'}")


if __name__ == "__main__":
    main()
