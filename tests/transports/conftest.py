"""Helpers for transport tests: strict validation of server events against the official types."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

# Fields the live server sends that the openai models do not declare.
_KNOWN_EXTRAS = {"object", "id", "expires_at", "obfuscation"}


def _extras(model: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(model, BaseModel):
        for name in (model.model_extra or {}):
            if name not in _KNOWN_EXTRAS:
                found.append(f"{path}.{name}")
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, value in enumerate(model):
            found += _extras(value, f"{path}[{i}]")
    return found


@pytest.fixture(scope="session")
def validate_server_event():
    from openai.types.realtime import RealtimeServerEvent

    adapter = TypeAdapter(RealtimeServerEvent)

    def check(event: dict[str, Any]) -> None:
        model = adapter.validate_python(event)
        assert model.type == event["type"]
        assert _extras(model, event["type"]) == []
        assert model.model_dump(mode="json", exclude_unset=True) == event, event["type"]

    return check
