"""Benchmark: the loader fuzzer's long mode (tests/fuzz runs a short, fixed slice of it in CI).

    python bench/bench_fuzz.py [--cases 200000] [--seed 12] [--workers 2] [--timeout 10]
                               [--memory-mb 2048] [--show 20]

Cases are generated deterministically from (seed, index) by tests/fuzz/mutations.py and run in
``--workers`` subprocesses, each validating one case at a time; a case that runs past
``--timeout`` seconds kills its worker (counted as a hang; the worker is restarted). Workers run
under an address-space limit of ``--memory-mb`` so a runaway allocation fails fast instead of
taking the machine. Prints cases per second, the failures (must be 0) grouped by site, the
slowest cases, and the peak memory of a worker. ``PYTHONPATH=/other/checkout`` measures another
checkout's loader with the same cases. No asserts: figures for the issue.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _fuzz_package() -> Any:
    """tests/fuzz of this checkout under its own name, so that ``PYTHONPATH=/other/checkout``
    swaps only the loader under test (that checkout's ``tests`` package does not shadow it)."""
    import importlib
    import importlib.util

    folder = ROOT / "tests" / "fuzz"
    spec = importlib.util.spec_from_file_location("rtgraph_fuzz", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["rtgraph_fuzz"] = package
    spec.loader.exec_module(package)
    for name in ("mutations", "harness"):
        setattr(package, name, importlib.import_module(f"rtgraph_fuzz.{name}"))
    return package


def _worker(seed: int, memory_mb: int) -> None:
    """Read ``start end`` lines on stdin; print one JSON line per case."""
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(1000)
    fuzz = _fuzz_package()
    run_case, make_case = fuzz.harness.run_case, fuzz.mutations.make_case

    workdir = Path(tempfile.mkdtemp(prefix="rtgraph-fuzz-"))
    os.chdir(workdir)  # validate_dict resolves entrypoints from the working directory
    for line in sys.stdin:
        start, end = map(int, line.split())
        for index in range(start, end):
            try:
                case = make_case(seed, index)
                outcome = run_case(case, workdir)
                record = {"i": index, "s": outcome.seconds, "f": outcome.failure, "ok": outcome.ok,
                          "m": case.mutations}
            except MemoryError:
                record = {"i": index, "s": 0.0, "f": "raised MemoryError (address-space limit)", "ok": False,
                          "m": []}
            record["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(json.dumps(record), flush=True)
        print(json.dumps({"done": end}), flush=True)


class _Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(args.seed), "--memory-mb", str(args.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.pending = b""  # bytes read past the last complete line (select sees only the OS buffer)
        self.current: int | None = None  # first index not yet answered in the chunk
        self.end = 0
        self.since = time.monotonic()
        self.rss = 0

    def give(self, start: int, end: int) -> None:
        self.current, self.end, self.since = start, end, time.monotonic()
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{start} {end}\n".encode())

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--show", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.seed, args.memory_mb)
        return

    import realtime_graph

    chunks = [(s, min(s + args.chunk, args.cases)) for s in range(0, args.cases, args.chunk)]
    chunks.reverse()
    selector = selectors.DefaultSelector()
    results: dict[int, dict[str, object]] = {}
    peak_rss = 0
    started = time.perf_counter()

    def spawn() -> None:
        worker = _Worker(args)
        assert worker.proc.stdout is not None
        selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
        if chunks:
            worker.give(*chunks.pop())

    def retire(worker: _Worker) -> None:
        assert worker.proc.stdout is not None
        selector.unregister(worker.proc.stdout)
        worker.kill()

    for _ in range(args.workers):
        spawn()
    while selector.get_map():
        for key, _ in selector.select(timeout=0.5):
            worker: _Worker = key.data
            assert worker.proc.stdout is not None
            data = os.read(worker.proc.stdout.fileno(), 1 << 16)
            worker.pending += data
            *lines, worker.pending = worker.pending.split(b"\n")
            if not data:  # the worker died (e.g. a hard crash): the case it was on is a failure
                if worker.current is not None and worker.current < worker.end:
                    results[worker.current] = {"i": worker.current, "s": 0.0, "f": "worker died", "m": []}
                    rest = (worker.current + 1, worker.end)
                    if rest[0] < rest[1]:
                        chunks.append(rest)
                retire(worker)
                spawn()
                continue
            for line in lines:
                record = json.loads(line)
                if "done" in record:
                    if chunks:
                        worker.give(*chunks.pop())
                    else:
                        retire(worker)
                    continue
                results[record["i"]] = record
                peak_rss = max(peak_rss, int(record.get("rss", 0)))
                worker.current = record["i"] + 1
                worker.since = time.monotonic()
        for key in list(selector.get_map().values()):
            worker = key.data
            if worker.current is not None and time.monotonic() - worker.since > args.timeout:
                results[worker.current] = {"i": worker.current, "s": args.timeout,
                                           "f": f"hang: no answer in {args.timeout:.0f}s", "m": []}
                rest = (worker.current + 1, worker.end)
                if rest[0] < rest[1]:
                    chunks.append(rest)
                retire(worker)
                spawn()
    elapsed = time.perf_counter() - started

    failures = [r for r in results.values() if r.get("f")]
    seconds = sorted(float(r["s"]) for r in results.values())  # type: ignore[arg-type]
    sites = collections.Counter(str(r["f"]).split(": ")[0] if str(r["f"]).startswith("raised")
                                else str(r["f"])[:70] for r in failures)
    print(f"loader: {Path(realtime_graph.__file__).parent}")
    print(f"cases: {len(results)}  seed: {args.seed}  workers: {args.workers}  wall: {elapsed:.1f}s  "
          f"cases/s: {len(results) / elapsed:.0f}")
    print(f"failures: {len(failures)}  (raised: {sum(str(r['f']).startswith('raised') for r in failures)}, "
          f"hangs: {sum(str(r['f']).startswith('hang') for r in failures)}, "
          f"over 1 s wall: {sum(float(r['s']) > 1.0 for r in results.values())}, "  # type: ignore[arg-type]
          f"over 2 s wall: {sum(float(r['s']) > 2.0 for r in results.values())})")  # type: ignore[arg-type]
    if seconds:
        def pct(p: float) -> float:
            return seconds[min(len(seconds) - 1, int(p * len(seconds)))] * 1000

        print(f"per case: median {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {seconds[-1] * 1000:.0f} ms")
    print(f"peak worker memory (max RSS): {peak_rss / 1024:.0f} MB (address-space limit {args.memory_mb} MB)")
    if sites:
        print("failures by site:")
        for site, count in sites.most_common(args.show):
            print(f"  {count:7d}  {site}")
        print("examples (index: mutations → failure):")
        seen: set[str] = set()
        for r in sorted(failures, key=lambda r: int(r["i"])):  # type: ignore[arg-type]
            site = str(r["f"])[:60]
            if site in seen:
                continue
            seen.add(site)
            print(f"  {r['i']}: {r.get('m')} → {str(r['f'])[:160]}")
            if len(seen) >= args.show:
                break
    print(f"python {sys.version.split()[0]}, {sys.platform}")


if __name__ == "__main__":
    main()
