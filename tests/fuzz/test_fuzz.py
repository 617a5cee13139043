"""The loader fuzzer, short mode: a fixed slice of the mutation stream, every promise checked.

The long mode (200 000 cases, cases per second, peak memory) is bench/bench_fuzz.py; both use
tests/fuzz/mutations.py, so a failure found there reproduces here with its index:
``FUZZ_CASES=1 FUZZ_START=<index> python -m pytest tests/fuzz``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from .harness import CASE_SECONDS, run_case
from .mutations import make_case

SEED = 12
START = int(os.environ.get("FUZZ_START", "0"))
CASES = int(os.environ.get("FUZZ_CASES", "2000"))
BATCH = 250


@pytest.mark.slow
@pytest.mark.parametrize("batch", range(START, START + CASES, BATCH))
def test_validate_keeps_its_promises(batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate() never raises, every issue is located, every case returns within a second."""
    monkeypatch.chdir(tmp_path)  # validate_dict resolves entrypoints from the working directory
    path = list(sys.path)
    failures = []
    for index in range(batch, min(batch + BATCH, START + CASES)):
        case = make_case(SEED, index)
        outcome = run_case(case, tmp_path)
        sys.path[:] = path
        if outcome.failure is not None:
            failures.append(f"case {index} {case.mutations}: {outcome.failure}")
    assert failures == [], f"{len(failures)} case(s) broke a promise (limit {CASE_SECONDS}s):\n" + "\n".join(failures)


def test_cases_are_deterministic() -> None:
    first, again = make_case(SEED, 41), make_case(SEED, 41)
    assert (first.mutations, first.files, first.documents is None) == (again.mutations, again.files,
                                                                     again.documents is None)
    assert make_case(SEED, 42).mutations != first.mutations or make_case(SEED, 42).files != first.files
