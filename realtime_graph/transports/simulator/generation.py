"""One simulated model response as a lazy sequence of timed batches (pure).

A :class:`ResponseRun` turns actions (say / call / error / delay / disconnect / barge-in) into
the GA event sequence (protocol reference §3.5a and §3.5c). It is a generator so the server
shell can pace it and read client events in between; :meth:`ResponseRun.cancel` ends it with the
trailing ``done`` events a cancelled response gets (items ``incomplete``, ``response.done``
``cancelled``).
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from ...audio import AudioFormat, bytes_per_ms, duration_ms, synthesize_speech
from .conversation import Conversation, StoredItem
from .vocabulary import Action, BargeIn, Batch, Call, Delay, Disconnect, Dtmf, Fail, IdFactory, Say

__all__ = ("ResponseConfig", "ResponseRun", "default_audio_ms")

_CHUNK_MS = 100
_MS_PER_CHAR = 60
_MAX_AUDIO_MS = 20_000


def default_audio_ms(text: str) -> int:
    """Length of the synthesised speech for ``text``: 60 ms per character, 300 ms to 20 s."""
    return min(max(_MS_PER_CHAR * len(text), 300), _MAX_AUDIO_MS)


@dataclass(frozen=True, slots=True)
class ResponseConfig:
    """Effective settings of one response (session values overridden by ``response.create``)."""

    modality: str
    audio_format: AudioFormat
    voice: Any
    max_output_tokens: Any
    metadata: Any = None
    conversation_id: str | None = None


@dataclass(slots=True)
class _Open:
    """The output item being generated, so a cancel can close it."""

    index: int
    item: dict[str, Any]
    previous: str | None
    part: str | None = None  # "audio" | "text" | None (function call)
    text: str = ""
    audio: bytearray = field(default_factory=bytearray)
    truncated_ms: int | None = None  # a client truncate that arrived while the item was generated


class ResponseRun:
    """A response in progress. Iterate :meth:`batches`; :meth:`cancel` stops it."""

    def __init__(
        self,
        *,
        ids: IdFactory,
        conversation: Conversation,
        actions: tuple[Action, ...],
        config: ResponseConfig,
        barge_in: Callable[[], tuple[list[dict[str, Any]], bool]],
        input_tokens: int,
    ) -> None:
        self.id = ids.new("resp_")
        self._ids = ids
        self._conversation = conversation
        self._actions = actions
        self._config = config
        self._barge_in = barge_in
        self._input_tokens = input_tokens
        self._output: list[dict[str, Any]] = []
        self._open: _Open | None = None
        self._output_tokens = 0
        self._produced_audio = False
        self.finished = False
        self.wraps = any(isinstance(a, (Say, Call)) for a in actions)
        """Whether this is a real response (errors/delays/disconnects alone are not)."""
        self._steps = self._run()

    def next_batch(self) -> Batch | None:
        """The next batch, or ``None`` when the response is over."""
        if self.finished:
            return None
        batch = next(self._steps, None)
        if batch is None:
            self.finished = True
        return batch

    def cancel(self, reason: str) -> list[dict[str, Any]]:
        """Stop now: trailing done events and ``response.done`` (``cancelled``/``reason``)."""
        self._steps.close()
        return self.cancel_in_place(reason)

    # --- the response body -----------------------------------------------------------------------

    def _response(self, status: str, details: Any, usage: Any) -> dict[str, Any]:
        cfg = self._config
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": list(self._output),
            "conversation_id": cfg.conversation_id,
            "output_modalities": [cfg.modality],
            "max_output_tokens": cfg.max_output_tokens,
            "audio": {"output": {"format": cfg.audio_format.to_wire(), "voice": cfg.voice}},
            "usage": usage,
            "metadata": cfg.metadata,
        }

    def _run(self) -> Generator[Batch, None, None]:
        wraps = self.wraps
        if wraps:
            created = self._ids.server_event("response.created", response=self._response("in_progress", None, None))
            yield Batch([created])
        for index, action in enumerate(self._actions):
            if isinstance(action, Say):
                barge = self._actions[index + 1] if index + 1 < len(self._actions) else None
                at_ms = barge.at_ms if isinstance(barge, BargeIn) else None
                interrupted = yield from self._say(action, at_ms)
                if interrupted:
                    return
            elif isinstance(action, Call):
                yield from self._call(action)
            elif isinstance(action, Fail):
                yield Batch([self._ids.error_event(action.code, action.message, kind=action.type)])
            elif isinstance(action, Delay):
                yield Batch(wait_ms=action.ms)
            elif isinstance(action, Dtmf):  # no event_id, like the API's (SIP only)
                yield Batch([{"type": "input_audio_buffer.dtmf_event_received", "event": digit,
                              "received_at": int(time.time())} for digit in action.digits])
            elif isinstance(action, Disconnect):
                yield Batch(close=(action.code, action.reason))
                return
        if wraps:
            yield Batch(self._done("completed", None))

    @property
    def in_conversation(self) -> bool:
        """False for an out-of-band response (``conversation: "none"``): its items are not stored."""
        return self._config.conversation_id is not None

    @property
    def produced_audio(self) -> bool:
        """Whether this response has generated assistant audio into the conversation."""
        return self.in_conversation and self._produced_audio

    def _start_item(self, item: dict[str, Any], part: str | None) -> list[dict[str, Any]]:
        shown = dict(item, content=[]) if part else dict(item)
        previous = self._conversation.add(StoredItem(item=item)) if self.in_conversation else None
        self._open = _Open(index=len(self._output), item=item, previous=previous, part=part)
        events = [self._ids.server_event("response.output_item.added", response_id=self.id,
                                         output_index=self._open.index, item=shown)]
        if self.in_conversation:
            events.append(self._ids.server_event("conversation.item.added", previous_item_id=previous,
                                                 item=dict(shown)))
        return events

    def _ids_of(self, open_: _Open) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": open_.item["id"], "output_index": open_.index,
                "content_index": 0}

    def _say(self, say: Say, barge_at_ms: int | None) -> Generator[Batch, None, bool]:
        modality = say.modality or self._config.modality
        part = "audio" if modality == "audio" else "text"
        item = {"id": self._ids.new("item_"), "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}
        events = self._start_item(item, part)
        open_ = self._open
        assert open_ is not None
        ids = self._ids_of(open_)
        empty = {"type": "audio", "transcript": ""} if part == "audio" else {"type": "text", "text": ""}
        events.append(self._ids.server_event("response.content_part.added", **ids, part=empty))
        yield Batch(events)
        words = say.text.split(" ")
        if part == "text":
            for i, word in enumerate(words):
                delta = word if i == 0 else " " + word
                open_.text += delta
                yield Batch([self._ids.server_event("response.output_text.delta", **ids, delta=delta)])
        else:
            fmt = self._config.audio_format
            total_ms = say.audio_ms if say.audio_ms is not None else default_audio_ms(say.text)
            audio = synthesize_speech(say.text, total_ms, fmt)
            chunk = _CHUNK_MS * bytes_per_ms(fmt)
            chunks = max(1, math.ceil(len(audio) / chunk))
            for n in range(chunks):
                batch: list[dict[str, Any]] = []
                first, last = n * len(words) // chunks, (n + 1) * len(words) // chunks
                if last > first:
                    delta = (" " if first else "") + " ".join(words[first:last])
                    open_.text += delta
                    batch.append(self._ids.server_event("response.output_audio_transcript.delta", **ids, delta=delta))
                piece = audio[n * chunk:(n + 1) * chunk]
                open_.audio += piece
                self._produced_audio = True
                batch.append(self._ids.server_event("response.output_audio.delta", **ids,
                                         delta=base64.b64encode(piece).decode("ascii")))
                yield Batch(batch, pace_ms=duration_ms(fmt, len(piece)))
                if barge_at_ms is not None and len(open_.audio) >= barge_at_ms * bytes_per_ms(fmt):
                    started, interrupt = self._barge_in()
                    if interrupt:
                        yield Batch(started + self.cancel_in_place("turn_detected"))
                        return True
                    yield Batch(started)
                    barge_at_ms = None
        self._output_tokens += len(words) + len(open_.audio) // (bytes_per_ms(self._config.audio_format) * 50)
        yield Batch(self._close_open(status="completed"))
        return False

    def open_audio_ms(self, item_id: str) -> int | None:
        """Audio generated so far (ms) if ``item_id`` is the audio item being generated, else None."""
        open_ = self._open
        if open_ is None or open_.part != "audio" or open_.item["id"] != item_id:
            return None
        return len(open_.audio) // bytes_per_ms(self._config.audio_format)

    def truncate_open(self, end_ms: int) -> None:
        """A client truncate of the item being generated (checked with :meth:`open_audio_ms`):
        applied to the stored item when it closes, like a truncate of a finished item."""
        assert self._open is not None
        self._open.truncated_ms = end_ms

    def cancel_in_place(self, reason: str) -> list[dict[str, Any]]:
        """Like :meth:`cancel`, from inside the generator (a scripted barge-in)."""
        return self._close_open() + self._done("cancelled", {"type": "cancelled", "reason": reason})

    def _call(self, call: Call) -> Generator[Batch, None, None]:
        item = {"id": self._ids.new("item_"), "type": "function_call", "status": "in_progress",
                "name": call.tool, "call_id": self._ids.new("call_", 16), "arguments": ""}
        yield Batch(self._start_item(item, None))
        open_ = self._open
        assert open_ is not None
        ids = {"response_id": self.id, "item_id": item["id"], "output_index": open_.index,
               "call_id": item["call_id"]}
        step = max(1, math.ceil(len(call.arguments) / 3))
        for start in range(0, len(call.arguments), step):
            delta = call.arguments[start:start + step]
            open_.text += delta
            yield Batch([self._ids.server_event("response.function_call_arguments.delta", **ids, delta=delta)])
        yield Batch([self._ids.server_event("response.function_call_arguments.done", **ids, name=call.tool,
                                 arguments=call.arguments)])
        self._output_tokens += 10 + len(call.arguments) // 4
        yield Batch(self._close_open(status="completed"))

    def _close_open(self, status: str = "incomplete") -> list[dict[str, Any]]:
        """Done events for the item being generated (none if nothing is open)."""
        open_, self._open = self._open, None
        if open_ is None:
            return []
        item = open_.item
        events: list[dict[str, Any]] = []
        if open_.part is not None:
            ids = self._ids_of(open_)
            if open_.part == "audio":
                events.append(self._ids.server_event("response.output_audio.done", **ids))
                events.append(self._ids.server_event("response.output_audio_transcript.done", **ids,
                                                     transcript=open_.text))
                final_part = {"type": "audio", "transcript": open_.text}
                item["content"] = [{"type": "output_audio", "transcript": open_.text}]
            else:
                events.append(self._ids.server_event("response.output_text.done", **ids, text=open_.text))
                final_part = {"type": "text", "text": open_.text}
                item["content"] = [{"type": "output_text", "text": open_.text}]
            events.append(self._ids.server_event("response.content_part.done", **ids, part=final_part))
        else:
            item["arguments"] = open_.text
        item["status"] = status
        stored = self._conversation.find(item["id"])
        if stored is not None:
            per_ms = bytes_per_ms(self._config.audio_format)
            kept = open_.audio if open_.truncated_ms is None else open_.audio[:open_.truncated_ms * per_ms]
            stored.audio = bytes(kept)
            stored.audio_ms = len(kept) // per_ms
            if open_.truncated_ms is not None:  # rebinding: the events below keep the full content
                stored.item = dict(item, content=[{"type": "output_audio", "transcript": ""}])
        self._output.append(dict(item))
        events.append(self._ids.server_event("response.output_item.done", response_id=self.id,
                                  output_index=open_.index, item=dict(item)))
        if self.in_conversation:
            events.append(self._ids.server_event("conversation.item.done", previous_item_id=open_.previous,
                                                 item=dict(item)))
        return events

    def _done(self, status: str, details: Any) -> list[dict[str, Any]]:
        self.finished = True
        out = self._output_tokens
        inp = self._input_tokens
        usage = {
            "total_tokens": inp + out, "input_tokens": inp, "output_tokens": out,
            "input_token_details": {"text_tokens": inp, "audio_tokens": 0, "image_tokens": 0,
                                    "cached_tokens": 0,
                                    "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0,
                                                              "image_tokens": 0}},
            "output_token_details": {"text_tokens": out, "audio_tokens": 0},
        }
        return [
            self._ids.server_event("response.done", response=self._response(status, details, usage)),
            self._ids.server_event("rate_limits.updated", rate_limits=[
                {"name": "tokens", "limit": 40000, "remaining": 40000 - inp - out, "reset_seconds": 0.06}
            ]),
        ]
