"""Benchmark: validate a generated 200-agent folder in-process; cold starts of the CLI.

    python bench/bench_validate.py [--agents 200] [--runs 7]

Prints a table of medians next to their targets (no asserts: figures for the README/issue).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = Path(sys.executable).parent / "rtgraph"
RTGRAPH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "realtime_graph"]


def generate(folder: Path, agents: int) -> None:
    """``agents`` agents with 3 tools, 2 handoffs and a template each; tools in one module."""
    functions = []
    for i in range(agents):
        functions.append(
            f"def lookup_{i}(query: str, limit: int = 5, exact: bool = False) -> str:\n"
            f'    """Look up records for agent {i}.\n\n    Args:\n        query: What to look for.\n'
            f'        limit: Maximum results.\n    """\n    return query\n\n\n'
            f"async def update_{i}(record_id: str, fields: dict, tags: list[str] | None = None) -> dict:\n"
            f'    """Update a record."""\n    return fields\n\n\n'
            f"def status_{i}(context=None) -> str:\n    return 'ok'\n\n\n"
        )
    (folder / "bench_tools.py").write_text("".join(functions))
    (folder / "graph.yaml").write_text(
        "kind: graph\nstart: agent_0\nvariables:\n  company: {default: Acme}\n  region: {default: EU}\n"
        "model_settings:\n  voice: marin\n  input_audio_format: pcm16\n")
    for i in range(agents):
        a, b = (i + 1) % agents, (i + 7) % agents
        (folder / f"agent_{i}.yaml").write_text(
            f"kind: agent\nname: agent_{i}\ndescription: Agent number {i}.\n"
            "instructions: |\n  You are agent " + str(i) + " of {{ company }} in {{ region }}.\n"
            "  {% if region == 'EU' %}Mention GDPR.{% endif %}\n"
            f"tools:\n  - entrypoint: bench_tools:lookup_{i}\n    timeout: 5s\n"
            f"  - entrypoint: bench_tools:update_{i}\n    needs_approval: true\n"
            f"  - entrypoint: bench_tools:status_{i}\n"
            f"handoffs:\n  - agent_{a}\n  - agent: agent_{b}\n    description: Escalate.\n")


def median_seconds(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from realtime_graph.config import validate

    folder = Path(tempfile.mkdtemp(prefix="rtgraph-bench-"))
    try:
        generate(folder, args.agents)
        first = time.perf_counter()
        report = validate(folder)
        first = time.perf_counter() - first
        if not report.ok:
            raise SystemExit(f"generated folder is invalid: {report.errors[0]}")
        warm = median_seconds(lambda: validate(folder), args.runs)
        help_cold = median_seconds(lambda: subprocess.run([*RTGRAPH, "--help"], capture_output=True, check=True), args.runs)
        example_cold = median_seconds(
            lambda: subprocess.run([*RTGRAPH, "validate", "agents.d"], cwd=ROOT, capture_output=True, check=True),
            args.runs)
    finally:
        shutil.rmtree(folder)
    rows = [
        (f"validate {args.agents} agents, in-process (first, incl. imports)", first, 1.0),
        (f"validate {args.agents} agents, in-process (median of {args.runs})", warm, 1.0),
        (f"`rtgraph --help` cold start (median of {args.runs})", help_cold, 0.3),
        (f"`rtgraph validate agents.d` cold start (median of {args.runs})", example_cold, 0.3),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'median':>9}  {'target':>8}")
    for name, seconds, target in rows:
        print(f"{name:<{width}}  {seconds * 1000:7.1f}ms  {target * 1000:6.0f}ms  {'ok' if seconds < target else 'SLOW'}")
    print(f"python {sys.version.split()[0]}, {sys.platform}")


if __name__ == "__main__":
    main()
