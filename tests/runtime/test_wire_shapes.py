"""Pure decisions behind wire robustness: the text of a malformed-event error, and giving up on
a response (the response-timeout path of the slot)."""

from __future__ import annotations

import binascii

import pytest

from realtime_graph.runtime.reader import malformed
from realtime_graph.runtime.response_slot import ResponseSlot


@pytest.mark.parametrize(("event", "exc", "text"), [
    ("x", AttributeError("no get"), "ignored a server frame that is a JSON str, not an event object: 'x'"),
    (None, AttributeError("no get"), "ignored a server frame that is a JSON NoneType, not an event object: 'None'"),
    ([1] * 100, AttributeError(), "ignored a server frame that is a JSON list, not an event object: "
     f"{str([1] * 100)[:80]!r}"),
    ({"type": {"a": 1}}, TypeError("unhashable"), "ignored a server event whose 'type' is a dict, not a string"),
    ({}, TypeError(), "ignored a server event whose 'type' is a NoneType, not a string"),
    ({"type": "t"}, KeyError("delta"), "ignored a malformed server event 't': missing field 'delta'"),
    ({"type": "t"}, binascii.Error("Incorrect padding"), "ignored a malformed server event 't': invalid base64 "
     "(Incorrect padding)"),
    ({"type": "t"}, RecursionError(), "ignored a malformed server event 't': nested too deeply"),
    ({"type": "t"}, ValueError("bad"), "ignored a malformed server event 't': a field of the wrong type or value "
     "(ValueError: bad)"),
])
def test_malformed_names_the_event_and_what_was_wrong(event, exc, text) -> None:
    assert malformed(event, exc) == text


def test_abandon_frees_the_slot_and_releases_a_queued_create() -> None:
    slot = ResponseSlot()
    first = slot.request()
    assert first == {"type": "response.create", "event_id": "rtg_response_create_1"}
    assert slot.request() is None  # queued behind the unanswered one
    assert slot.abandon() == {"type": "response.create", "event_id": "rtg_response_create_2"}
    assert slot.pending == "rtg_response_create_2" and slot.active is None
    slot.on_created("resp_1")
    assert slot.abandon() is None
    assert not slot.busy
