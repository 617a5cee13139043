"""The simulated default conversation: ordered items plus the audio each one carries (pure)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

__all__ = ("Conversation", "StoredItem")


@dataclass(slots=True)
class StoredItem:
    """An item as the server holds it: the wire dict (without audio), its audio and length."""

    item: dict[str, Any]
    audio: bytes = b""
    audio_ms: int = 0
    heard: str | None = None  # what the simulated recogniser heard (user audio)


@dataclass(slots=True)
class Conversation:
    """Items in order, addressable by id."""

    items: list[StoredItem] = field(default_factory=list)

    def last_id(self) -> str | None:
        return self.items[-1].item["id"] if self.items else None

    def find(self, item_id: str) -> StoredItem | None:
        return next((s for s in self.items if s.item.get("id") == item_id), None)

    def add(self, stored: StoredItem, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` (``"root"``: first; ``None``: last); returns the id
        of the item now before it. The caller checks that ``previous_item_id`` exists."""
        if previous_item_id is None:
            previous = self.last_id()
            self.items.append(stored)
            return previous
        if previous_item_id == "root":
            self.items.insert(0, stored)
            return None
        index = next(i for i, s in enumerate(self.items) if s.item.get("id") == previous_item_id)
        self.items.insert(index + 1, stored)
        return previous_item_id

    def delete(self, item_id: str) -> bool:
        stored = self.find(item_id)
        if stored is None:
            return False
        self.items.remove(stored)
        return True

    def previous_id(self, item_id: str) -> str | None:
        ids = [s.item.get("id") for s in self.items]
        index = ids.index(item_id)
        return ids[index - 1] if index > 0 else None

    def call_names(self) -> dict[str, str]:
        """``call_id`` → tool name for every function call in the conversation."""
        return {
            s.item["call_id"]: s.item.get("name", "")
            for s in self.items
            if s.item.get("type") == "function_call" and s.item.get("call_id")
        }

    def last_user_text(self) -> str | None:
        """The text of the latest user message: ``input_text``, the audio transcript (client
        supplied, else what the recogniser heard), else ``"(N.N s of audio)"``."""
        for stored in reversed(self.items):
            item = stored.item
            if item.get("type") != "message" or item.get("role") != "user":
                continue
            texts = []
            for part in item.get("content", []):
                if part.get("type") == "input_text":
                    texts.append(part.get("text", ""))
                elif part.get("type") == "input_audio":
                    heard = part.get("transcript") or stored.heard
                    texts.append(heard or f"({stored.audio_ms / 1000:.1f} s of audio)")
            if texts:
                return " ".join(texts)
        return None

    def retrieved(self, stored: StoredItem) -> dict[str, Any]:
        """The item as ``conversation.item.retrieved`` shows it: with base64 audio."""
        item = dict(stored.item)
        if stored.audio and item.get("content"):
            audio = base64.b64encode(stored.audio).decode("ascii")
            item["content"] = [
                {**part, "audio": audio} if part.get("type") in ("input_audio", "output_audio") else part
                for part in item["content"]
            ]
        return item
