"""Per-event CPU, latency, tool/handoff round trips and idle memory: realtime_graph vs the OpenAI
Agents SDK vs a bare websockets client, side by side in one run.

    pip install -e '.[bench]'        # adds openai-agents[realtime]
    python bench/bench_session.py [--events 3000] [--repeat 5]

Every measurement runs the client in a fresh process against bench/_server.py (its own process)
on loopback. Reports medians and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))


@contextmanager
def server(*args: str) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_server.py"), *args],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def client(variant: str, scenario: str, url: str, *extra: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, os.path.join(HERE, "_clients.py"), variant, scenario, url, *extra],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"{variant}/{scenario} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="audio deltas (and as many transcript deltas)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--chunk-ms", type=int, nargs="+", default=[20, 100],
                        help="audio delta sizes to stream (ms of 24 kHz PCM16)")
    args = parser.parse_args()
    variants = ("floor", "sdk", "ours")

    stream_variants = ("floor", "sdk", "ours", "ours+raw")
    for chunk_ms in args.chunk_ms:
        print(f"# stream: {args.events} audio deltas of {chunk_ms} ms + {args.events} transcript deltas, "
              f"{args.repeat} runs each (client CPU s, median)")
        cpu: dict[str, list[float]] = {v: [] for v in stream_variants}
        for _ in range(args.repeat):
            for v in stream_variants:  # interleaved so drift hits every variant alike
                with server("--mode", "stream", "--n", str(args.events), "--chunk-ms", str(chunk_ms)) as url:
                    r = client(v, "stream", url)
                assert r["audio_events"] == args.events, (v, r)
                cpu[v].append(float(r["cpu_s"]))
        med = {v: statistics.median(cpu[v]) for v in stream_variants}
        print(f"{'client':9} {'cpu_s':>7} {'us/event':>9} {'x floor':>8} {'sdk / x':>8}")
        for v in stream_variants:
            print(f"{v:9} {med[v]:7.3f} {med[v] / (2 * args.events) * 1e6:9.2f} "
                  f"{med[v] / med['floor']:8.2f} {med['sdk'] / med[v]:8.2f}")
        print("(ours = raw_model_event off; ours+raw = on, the default and what the SDK always does)\n")

    print("# latency: server event -> client event, paced 1 event / 2 ms (ms)")
    print(f"{'client':8} {'p50':>7} {'p99':>7}")
    lat: dict[str, list[float]] = {}
    for v in variants:
        with server("--mode", "paced", "--n", "500", "--interval-ms", "2") as url:
            lat[v] = [x * 1000 for x in client(v, "paced", url)["latencies"]]  # type: ignore[union-attr]
        print(f"{v:8} {pct(lat[v], 0.5):7.3f} {pct(lat[v], 0.99):7.3f}")
    print(f"extra over floor (ours): p50 {pct(lat['ours'], .5) - pct(lat['floor'], .5):+.3f} ms, "
          f"p99 {pct(lat['ours'], .99) - pct(lat['floor'], .99):+.3f} ms\n")

    print(f"# round trips measured at the server over {args.calls} calls (ms, median / p99)")
    for scenario, key in (("tool", "tool_s"), ("handoff", "handoff_s")):
        for v in ("sdk", "ours"):
            with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as out:
                tool = "ping" if scenario == "tool" else "transfer_to_other,transfer_to_bench"
                with server("--mode", scenario, "--n", str(args.calls), "--tool", tool, "--out", out.name) as url:
                    client(v, scenario, url, scenario)
                values = [json.loads(line)[key] * 1000 for line in open(out.name)]
            if not values:
                print(f"{scenario:8} {v:5} (no samples)")
                continue
            print(f"{scenario:8} {v:5} {statistics.median(values):7.3f} {pct(values, .99):7.3f}  (n={len(values)})")
    print()

    print(f"# memory per idle session, {args.sessions} sessions in one process (KiB)")
    for v in ("sdk", "ours"):
        with server("--mode", "idle") as url:
            r = client(v, "idle", url, str(args.sessions))
        print(f"{v:5} {float(r['kib_per_session']):8.1f}")


if __name__ == "__main__":
    main()
