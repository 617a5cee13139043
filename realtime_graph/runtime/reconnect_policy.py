"""Reconnect decisions (pure): what is recoverable, how long to wait, what to replay, what to resend.

The Realtime API keeps no conversation across connections: a new ``?model=`` connection is a new,
empty session. So after a drop the session sends the current agent's ``session.update`` and
replays its local history (:mod:`.history`) as ``conversation.item.create`` events, in order:

- user messages: typed text as ``input_text``, spoken turns as their transcript (``input_text``),
  images as ``input_image``; a spoken turn without a transcript cannot be replayed (skipped);
- assistant replies as ``output_text`` (a reply cut short by an interruption: only the part the
  user heard, ending in ``…``);
- each ``function_call`` followed by its ``function_call_output`` once the output was sent;
- then :data:`NOTE`, a system message so the model carries on instead of greeting again.

Items still being produced when the connection dropped (their response failed) are not
replayed. Replayed items keep their item ids, so later events about them still match the local
history. The I/O shell is :mod:`.reconnection`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .history import HistoryItem, MessageItem, ToolCallItem, cut_text

__all__ = (
    "FATAL_ERROR_CODES",
    "NOTE",
    "NOTE_ID",
    "RECOVERABLE_CLOSE_CODES",
    "PendingItems",
    "Replay",
    "backoff_delay",
    "build_replay",
    "classify_error",
    "cut_text",
    "drop_reason",
    "fatal_message",
    "owes_answer",
    "replay_summary",
)

RECOVERABLE_CLOSE_CODES = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})
"""WebSocket close codes worth a new connection (the ``openai`` package's list): going away, no
status, abnormal closure, server error, service restart, try again later, TLS failure."""

FATAL_ERROR_CODES = frozenset({
    "invalid_api_key", "insufficient_quota", "account_deactivated", "billing_hard_limit_reached",
    "beta_api_shape_disabled", "model_not_found", "unsupported_country_region_territory",
})
"""Server ``error`` codes no retry can fix: the session ends at once."""

EXPIRED = "session_expired"

NOTE = ("The connection to the voice session was interrupted and has just been restored; the messages "
        "above are the conversation so far. Carry on from where it left off: do not greet the user again, "
        "do not repeat what you already said, and keep the same language.")
"""The system message that ends every replay."""

NOTE_ID = "rtg_reconnect_note"


def drop_reason(code: int | None, reason: str = "") -> str | None:
    """``"close 1011 (internal server error)"`` when a close with ``code`` is worth a reconnect,
    else None (the session ends)."""
    if code not in RECOVERABLE_CLOSE_CODES:
        return None
    return f"close {code} ({reason})" if reason else f"close {code}"


def classify_error(error: Mapping[str, Any]) -> Literal["fatal", "expired"] | None:
    """``fatal`` for a server error no retry can fix, ``expired`` for ``session_expired``."""
    code = error.get("code")
    if code == EXPIRED:
        return "expired"
    return "fatal" if code in FATAL_ERROR_CODES else None


def fatal_message(error: Mapping[str, Any]) -> str:
    """The one line that ends a session on a fatal server error."""
    message = str(error.get("message") or "").strip()
    return f"the realtime server refused the session ({error.get('code')}): {message or 'no message'}"


def backoff_delay(attempt: int, *, initial: float, most: float, jitter: float) -> float:
    """Seconds to wait before connection attempt ``attempt`` (1-based): ``initial`` doubled per
    attempt, capped at ``most``, scaled by ``0.75 + 0.25 * jitter`` (``jitter`` in [0, 1), so
    sessions dropped together do not reconnect together)."""
    base = min(most, initial * 2.0 ** min(attempt - 1, 30))
    return float(base * (0.75 + 0.25 * min(max(jitter, 0.0), 1.0)))


@dataclass(frozen=True, slots=True)
class Replay:
    """The client events of one replay and what they carry (``counts`` by kind)."""

    events: tuple[dict[str, Any], ...]
    counts: Mapping[str, int]
    item_ids: frozenset[str] = field(default_factory=frozenset)
    """Ids of every replayed item (the server's acknowledgements of them are not history)."""


def _create(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": item}


def _user_parts(item: MessageItem) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in item.content:
        kind = part.get("type")
        if kind == "input_text" and part.get("text"):
            parts.append({"type": "input_text", "text": part["text"]})
        elif kind == "input_audio" and part.get("transcript"):
            parts.append({"type": "input_text", "text": part["transcript"]})
        elif kind == "input_image" and part.get("image_url"):
            image = {"type": "input_image", "image_url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append(image)
    return parts


def _assistant_text(item: MessageItem) -> str:
    texts = [part.get("text") or part.get("transcript") or "" for part in item.content]
    return " ".join(t.strip() for t in texts if t and t.strip())


def build_replay(items: Sequence[HistoryItem], heard: Mapping[str, str], *, note: str | None = NOTE) -> Replay:
    """The ``conversation.item.create`` events that rebuild ``items`` on a fresh connection.

    ``heard`` maps an interrupted assistant item to the text the user heard of it. Unfinished
    items (``in_progress``: their response failed with the connection) are left out.
    """
    events: list[dict[str, Any]] = []
    counts = {"user": 0, "assistant": 0, "system": 0, "function_call": 0, "function_call_output": 0,
              "truncated": 0, "skipped": 0}
    ids: set[str] = set()
    outputs = 0
    for item in items:
        if item.status == "in_progress":
            continue
        if isinstance(item, ToolCallItem):
            events.append(_create({"id": item.item_id, "type": "function_call", "call_id": item.call_id,
                                   "name": item.name, "arguments": item.arguments or "{}"}))
            counts["function_call"] += 1
            ids.add(item.item_id)
            if item.output is not None:
                outputs += 1
                output_id = f"rtg_replay_output_{outputs}"
                events.append(_create({"id": output_id, "type": "function_call_output", "call_id": item.call_id,
                                       "output": item.output}))
                counts["function_call_output"] += 1
                ids.add(output_id)
            continue
        if item.role == "assistant":
            text = _assistant_text(item)
            if item.item_id in heard:
                text = heard[item.item_id]
                counts["truncated"] += bool(text)
            if not text:
                counts["skipped"] += 1
                continue
            content = [{"type": "output_text", "text": text}]
        else:
            content = _user_parts(item) if item.role == "user" else [
                {"type": "input_text", "text": t} for p in item.content if (t := p.get("text") or "")]
            if not content:
                counts["skipped"] += 1
                continue
        role = item.role if item.role in ("user", "assistant", "system") else "user"
        events.append(_create({"id": item.item_id, "type": "message", "role": role, "content": content}))
        counts[role] += 1
        ids.add(item.item_id)
    if note:
        events.append(_create({"id": NOTE_ID, "type": "message", "role": "system",
                               "content": [{"type": "input_text", "text": note}]}))
        ids.add(NOTE_ID)
    return Replay(tuple(events), {k: v for k, v in counts.items() if v}, frozenset(ids))


def owes_answer(events: Sequence[Mapping[str, Any]]) -> bool:
    """The conversation these client events end ends waiting for the model: its last item (the
    note aside) is a user message or a tool output."""
    for event in reversed(events):
        item = event.get("item")
        if event.get("type") != "conversation.item.create" or not isinstance(item, Mapping) \
                or item.get("id") == NOTE_ID:
            continue
        return item.get("type") == "function_call_output" or item.get("role") == "user"
    return False


def _signature(item: Mapping[str, Any]) -> tuple[Any, ...]:
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    return (item.get("type"), item.get("role"), item.get("call_id"),
            tuple((p.get("type"), p.get("text")) for p in parts if isinstance(p, Mapping)))


class PendingItems:
    """Items the session created that the server has not acknowledged (``conversation.item.added``)
    yet: lost with a dropped connection unless sent again. Tool outputs are not tracked here (the
    history holds them once sent, and the replay carries them)."""

    __slots__ = ("_items",)

    LIMIT = 64

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._items)

    def sent(self, event: Mapping[str, Any]) -> None:
        item = event.get("item")
        if event.get("type") == "conversation.item.create" and isinstance(item, Mapping) \
                and item.get("type") != "function_call_output":
            self._items.append(dict(event))
            del self._items[:-self.LIMIT]

    def acked(self, item: Mapping[str, Any]) -> None:
        """The server added ``item``: the oldest matching pending create is acknowledged."""
        if not self._items:
            return
        item_id, wanted = item.get("id"), _signature(item)
        for index, event in enumerate(self._items):
            sent = event["item"]
            if (sent.get("id") is not None and sent.get("id") == item_id) or _signature(sent) == wanted:
                del self._items[index]
                return

    def take(self) -> list[dict[str, Any]]:
        """Every unacknowledged create, oldest first; the ledger is then empty."""
        items, self._items = self._items, []
        return items


def replay_summary(counts: Mapping[str, int], resent: int) -> str:
    """``"3 messages, 1 tool call with its output"``-style text for the ``reconnected`` line."""
    messages = counts.get("user", 0) + counts.get("assistant", 0) + counts.get("system", 0)
    words = [f"{messages} message{'s' if messages != 1 else ''}"]
    calls = counts.get("function_call", 0)
    if calls:
        words.append(f"{calls} tool call{'s' if calls != 1 else ''}")
    if counts.get("truncated"):
        words.append(f"{counts['truncated']} cut short")
    if resent:
        words.append(f"{resent} client event{'s' if resent != 1 else ''} resent")
    return ", ".join(words)

