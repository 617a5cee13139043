"""The session's local copy of the conversation (the SDK's item model, simplified).

Items are keyed by server item id and kept in conversation order. Audio bytes are never stored;
transcripts are. Content parts are plain dicts with a normalised ``type``: ``input_text``
(``text``), ``input_audio`` (``transcript``), ``input_image`` (``image_url``), ``text``
(``text``) and ``audio`` (``transcript``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ("History", "HistoryItem", "MessageItem", "ToolCallItem", "cut_text")

_PART_TYPES = {"output_text": "text", "output_audio": "audio"}


@dataclass(slots=True)
class MessageItem:
    """A user, assistant or system message."""

    item_id: str
    role: str
    content: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    previous_item_id: str | None = None
    type: str = "message"


@dataclass(slots=True)
class ToolCallItem:
    """A function call by the model; ``output`` is filled when the session sent the result."""

    item_id: str
    call_id: str
    name: str
    arguments: str = ""
    status: str = "in_progress"
    output: str | None = None
    previous_item_id: str | None = None
    type: str = "function_call"


HistoryItem = MessageItem | ToolCallItem


def cut_text(text: str, fraction: float) -> str:
    """The first ``fraction`` of ``text`` (what was heard of a reply cut short), ending at a word
    boundary, marked with ``…``; ``""`` when nothing was heard."""
    if fraction >= 1.0:
        return text
    keep = int(len(text) * max(fraction, 0.0))
    head = text[:keep]
    if keep < len(text) and not text[keep].isspace() and " " in head:
        head = head[: head.rindex(" ")]
    head = head.rstrip()
    return head + "…" if head else ""


def _part(raw: Mapping[str, Any]) -> dict[str, Any]:
    kind = _PART_TYPES.get(raw.get("type", ""), raw.get("type", ""))
    if kind in ("text", "input_text"):
        return {"type": kind, "text": raw.get("text") or ""}
    if kind in ("audio", "input_audio"):
        return {"type": kind, "transcript": raw.get("transcript")}
    if kind == "input_image":
        return {"type": kind, "image_url": raw.get("image_url"), "detail": raw.get("detail")}
    return {"type": kind}


def _merge_content(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The server sends empty transcripts in item events while deltas already told us the text.
    if not new:
        return old
    merged = []
    for i, part in enumerate(new):
        known = old[i] if i < len(old) and old[i]["type"] == part["type"] else None
        if known is not None:
            for key in ("transcript", "text"):
                if key in part and not part[key] and known.get(key):
                    part = {**part, key: known[key]}
        merged.append(part)
    return merged


class History:
    """Ordered conversation items with in-place updates."""

    __slots__ = ("_deltas", "_heard", "_index", "_items")

    def __init__(self) -> None:
        self._items: list[HistoryItem] = []
        self._index: dict[str, HistoryItem] = {}
        self._heard: dict[str, str] = {}
        # Transcript deltas wait here and are joined when history is next read or changed:
        # appending to the part's string on every delta would copy it each time (quadratic).
        self._deltas: dict[tuple[str, int, str], list[str]] = {}

    def _flush(self) -> None:
        for (item_id, content_index, key), chunks in self._deltas.items():
            item = self._index.get(item_id)
            if not isinstance(item, MessageItem):
                continue
            while len(item.content) <= content_index:
                item.content.append({"type": "audio" if key == "transcript" else "text", key: ""})
            part = item.content[content_index]
            part[key] = (part.get(key) or "") + "".join(chunks)
        self._deltas.clear()

    @property
    def items(self) -> list[HistoryItem]:
        """A copy of the items, oldest first."""
        if self._deltas:
            self._flush()
        return list(self._items)

    def get(self, item_id: str) -> HistoryItem | None:
        if self._deltas:
            self._flush()
        return self._index.get(item_id)

    def _insert(self, item: HistoryItem) -> None:
        self._index[item.item_id] = item
        prev = self._index.get(item.previous_item_id) if item.previous_item_id else None
        if prev is not None:
            self._items.insert(self._items.index(prev) + 1, item)
        else:
            self._items.append(item)

    def apply(self, raw: Mapping[str, Any], previous_item_id: str | None = None) -> tuple[HistoryItem, bool] | None:
        """Add or update from a server item. Returns ``(item, added)``, or None if nothing changed
        (or the item is of a kind history does not keep, e.g. ``function_call_output``)."""
        if self._deltas:
            self._flush()
        item_id = raw.get("id")
        kind = raw.get("type")
        if not isinstance(item_id, str):
            return None
        existing = self._index.get(item_id)
        if kind == "message":
            content = [_part(p) for p in raw.get("content") or ()]
            if isinstance(existing, MessageItem):
                content = _merge_content(existing.content, content)
                if content == existing.content and raw.get("status") in (None, existing.status):
                    return None
                existing.content = content
                existing.status = raw.get("status", existing.status)
                return existing, False
            item: HistoryItem = MessageItem(item_id, raw.get("role", "assistant"), content,
                                            raw.get("status"), previous_item_id)
        elif kind == "function_call":
            if isinstance(existing, ToolCallItem):
                status, arguments = raw.get("status", existing.status), raw.get("arguments") or existing.arguments
                if (status, arguments) == (existing.status, existing.arguments):
                    return None
                existing.status, existing.arguments = status, arguments
                return existing, False
            item = ToolCallItem(item_id, raw.get("call_id", ""), raw.get("name", ""),
                                raw.get("arguments") or "", raw.get("status") or "in_progress",
                                None, previous_item_id)
        else:
            return None
        self._insert(item)
        return item, True

    def set_tool_output(self, call_id: str, output: str) -> ToolCallItem | None:
        """Record a function call's output (the session sent it); the item is then completed."""
        for item in reversed(self._items):
            if isinstance(item, ToolCallItem) and item.call_id == call_id:
                item.output = output
                item.status = "completed"
                return item
        return None

    def add_transcript_delta(self, item_id: str, content_index: int, delta: str, key: str) -> None:
        """Accumulate an assistant transcript/text delta silently (no event, like the SDK)."""
        chunks = self._deltas.get((item_id, content_index, key))
        if chunks is None:
            if item_id not in self._index:
                return
            chunks = self._deltas[(item_id, content_index, key)] = []
        chunks.append(delta)

    def set_input_transcript(self, item_id: str, transcript: str) -> tuple[HistoryItem, bool]:
        """Input transcription completed: fill the user item's audio transcript (or add a user item)."""
        item = self.get(item_id)
        if isinstance(item, MessageItem):
            for part in item.content:
                if part["type"] == "input_audio":
                    part["transcript"] = transcript
            item.status = "completed"
            return item, False
        new = MessageItem(item_id, "user", [{"type": "input_text", "text": transcript}], "completed")
        self._insert(new)
        return new, True

    def delete(self, item_id: str) -> bool:
        if self._deltas:
            self._flush()
        item = self._index.pop(item_id, None)
        if item is None:
            return False
        self._items.remove(item)
        self._heard.pop(item_id, None)
        return True

    def truncate(self, item_id: str, played_ms: float, received_ms: float) -> None:
        """An assistant item was cut at ``played_ms`` of the ``received_ms`` that had arrived:
        remember the part of its transcript the user heard (proportionally), for a replay."""
        item = self.get(item_id)
        if not isinstance(item, MessageItem):
            return
        text = " ".join((p.get("transcript") or p.get("text") or "").strip() for p in item.content).strip()
        self._heard[item_id] = cut_text(text, played_ms / received_ms if received_ms > 0 else 0.0)

    @property
    def heard(self) -> dict[str, str]:
        """Interrupted assistant items → the text the user heard of them (a copy)."""
        return dict(self._heard)

    def drop_unfinished(self) -> list[str]:
        """Forget items still ``in_progress`` (their response failed with the connection); returns
        their ids."""
        if self._deltas:
            self._flush()
        gone = [item.item_id for item in self._items if item.status == "in_progress"]
        for item_id in gone:
            self.delete(item_id)
        return gone
