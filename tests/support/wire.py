"""Strict checks of wire events against the official openai types."""

from __future__ import annotations

from openai.types.realtime import RealtimeClientEvent
from pydantic import BaseModel, TypeAdapter

from realtime_graph.transports import protocol as p

_ADAPTER = TypeAdapter(RealtimeClientEvent)


def _no_extra_keys(value: object, path: str) -> None:
    # openai models accept unknown keys (extra="allow"); a typo would pass validation silently.
    if isinstance(value, BaseModel):
        assert not value.model_extra, f"unknown keys at {path}: {sorted(value.model_extra)}"
        for name in value.model_fields_set:
            _no_extra_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_extra_keys(v, f"{path}[{i}]")


def strict(event: dict) -> dict:
    """Validate against the official union, reject unknown keys, and require an exact round trip."""
    model = _ADAPTER.validate_python(event)
    _no_extra_keys(model, "$")
    assert model.model_dump(mode="json", exclude_unset=True) == event
    assert event["type"] in p.CLIENT_EVENT_TYPES
    return event
