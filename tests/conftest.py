"""Shared fixtures. Async tests use anyio's pytest plugin on the asyncio backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_real_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the real OpenAI API: a key in the developer's shell must not leak in."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
