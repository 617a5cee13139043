"""Per-event CPU, latency, tool/handoff round trips and idle memory: realtime_graph vs the OpenAI
Agents SDK vs a bare websockets client, side by side in one run.

    pip install -e '.[bench]'        # adds openai-agents[realtime]
    python bench/bench_session.py [--events 3000] [--repeat 5] [--instructions]

Every measurement runs the client in a fresh process against bench/_server.py (its own process)
on loopback. Reports medians and ratios; never asserts.

CPU time on shared or virtual machines drifts by tens of percent between runs. ``--instructions``
adds a deterministic measure: each client runs under valgrind's callgrind at two stream sizes,
and the difference in executed instructions, divided by the extra events, is the cost per server
event with every fixed cost (imports, connect, session setup) cancelled out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

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


def instructions(variant: str, url: str) -> int:
    """Instructions the client process executed (callgrind's total), deterministic."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          os.path.join(HERE, "_clients.py"), variant, "stream", url],
                         capture_output=True, text=True, timeout=1200)
    match = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or match is None:
        raise SystemExit(f"{variant} under callgrind failed:\n{out.stderr[-3000:]}")
    return int(match.group(1))


def per_event_instructions(variant: str, chunk_ms: int, small: int, large: int) -> float:
    totals = []
    for n in (small, large):
        with server("--mode", "stream", "--n", str(n), "--chunk-ms", str(chunk_ms)) as url:
            totals.append(instructions(variant, url))
    return (totals[1] - totals[0]) / (2 * (large - small))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="audio deltas (and as many transcript deltas)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per event under valgrind (deterministic, slow)")
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

    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
        print("# instructions per server event (callgrind; 500 vs 1500 audio deltas, fixed costs cancel)")
        print(f"{'client':9} " + " ".join(f"{f'{c} ms':>10} {'x floor':>8}" for c in args.chunk_ms))
        counts = {v: [per_event_instructions(v, c, 500, 1500) for c in args.chunk_ms] for v in stream_variants}
        for v in stream_variants:
            cells = " ".join(f"{n:10.0f} {n / counts['floor'][i]:8.2f}" for i, n in enumerate(counts[v]))
            print(f"{v:9} {cells}")
        print("sdk / ours+raw: " + ", ".join(f"{c} ms {counts['sdk'][i] / counts['ours+raw'][i]:.2f}x"
                                             for i, c in enumerate(args.chunk_ms)) + "\n")

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
                with open(out.name) as lines:
                    values = [json.loads(line)[key] * 1000 for line in lines]
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
