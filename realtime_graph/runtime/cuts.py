"""What to cut and where (pure): the truncate that makes the model's memory match what was heard."""

from __future__ import annotations

from dataclasses import dataclass

from .playback import PlaybackState

__all__ = ("Cut", "plan_cut")


@dataclass(frozen=True, slots=True)
class Cut:
    """Stop playing this item and truncate it at ``audio_end_ms`` (what was played)."""

    item_id: str
    content_index: int
    response_id: str
    audio_end_ms: int


def plan_cut(state: PlaybackState | None, *, response_id: str | None, more_coming: bool) -> Cut | None:
    """The cut for the current audio item, or None when there is nothing to cut.

    ``response_id`` restricts the cut to that response's audio (a verdict never cuts a later
    response); ``more_coming`` says the server is still producing the current response. Audio
    that was all played, with nothing more coming, is not cut.
    """
    if state is None or (response_id is not None and state.response_id != response_id):
        return None
    if state.finished and not more_coming:
        return None
    return Cut(state.item_id, state.content_index, state.response_id, int(state.played_ms))
