"""The simulator's model side as a pure state machine: client event dicts in, server events out.

No I/O and no clock reads: the server shell feeds :meth:`SimulatorEngine.receive` with each
client event and drains the active response with :meth:`SimulatorEngine.next_batch`, pacing
batches as it likes. See docs/simulator.md for the behaviour.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ...audio import AudioFormat, bytes_per_ms, duration_ms, format_from_wire
from ..protocol import CLIENT_EVENT_TYPES
from .conversation import Conversation, StoredItem
from .fieldcheck import FieldError, check_fields, check_response_params
from .generation import ResponseConfig, ResponseRun
from .item_events import create_item, delete_item, retrieve_item, truncate_item
from .rules import HANDOFF_PREFIX, UnknownForcedTool, apply_tool_choice, default_actions
from .sessionconfig import SessionUpdateError, apply_update, check_tool_choice, check_voice, default_session
from .vad import EnergyVad
from .vocabulary import Action, Batch, Call, Handoff, IdFactory, SimulatorScript

__all__ = ("SimulatorEngine",)

_MIN_COMMIT_MS = 100


class SimulatorEngine:
    """One simulated Realtime session (one WebSocket connection)."""

    def __init__(
        self,
        *,
        model: str | None,
        call_id: str | None = None,
        script: SimulatorScript | None = None,
        now: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.ids = IdFactory(seed)
        self.session = default_session(
            session_id=self.ids.new("sess_"), model=None if call_id else model, expires_at=int(now) + 3600
        )
        self.conversation = Conversation()
        self._conversation_id = self.ids.new("conv_")
        self._turns = script.turns if script is not None else ()
        self._next_turn = 0
        self._buffer = bytearray()
        self._vad = EnergyVad()
        self._speech_item: str | None = None
        self._attached = call_id is not None  # a SIP/WebRTC call: the server owns the output buffer
        self._playing: str | None = None  # the response whose audio the call's output buffer plays
        self._last_response_id: str | None = None
        self.active: ResponseRun | None = None

    # --- helpers --------------------------------------------------------------------------------


    @property
    def _input_format(self) -> AudioFormat:
        return format_from_wire(self.session["audio"]["input"]["format"])

    @property
    def _turn_detection(self) -> dict[str, Any] | None:
        detection: dict[str, Any] | None = self.session["audio"]["input"]["turn_detection"]
        return detection

    @property
    def script_position(self) -> int:
        """How many script turns were used (a reconnect-aware server carries it over)."""
        return self._next_turn

    @script_position.setter
    def script_position(self, value: int) -> None:
        self._next_turn = value

    @property
    def responding(self) -> bool:
        """A response is being generated (writes to the default conversation)."""
        return self.active is not None and self.active.wraps and not self.active.finished

    # --- entry points ---------------------------------------------------------------------------

    def start_with(self, accepted: dict[str, Any]) -> None:
        """Start from an accepted call's configuration (the Calls API accept body).

        :raises SessionUpdateError: the body is not a valid session (the fake API checked it).
        """
        self.session = apply_update(self.session, accepted)

    def _output_buffer(self, batch: Batch) -> None:
        """A call's server-side output buffer: ``output_audio_buffer.started`` before a response's
        first audio, ``stopped`` once it is done (its audio was paced out: played on the call)."""
        events: list[dict[str, Any]] = []
        for event in batch.events:
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "response.output_audio.delta" and self._playing is None:
                self._playing = event.get("response_id", "")
                events.append(self.ids.server_event("output_audio_buffer.started", response_id=self._playing))
            events.append(event)
            if kind == "response.done" and self._playing is not None:
                events.append(self.ids.server_event("output_audio_buffer.stopped", response_id=self._playing))
                self._playing = None
        batch.events = events

    def open(self) -> list[dict[str, Any]]:
        """Events sent on connect: ``session.created``."""
        return [self.ids.server_event("session.created", session=self.session)]

    def next_batch(self) -> Batch | None:
        """The active response's next batch (``None`` when there is nothing to generate)."""
        if self.active is None:
            return None
        batch = self.active.next_batch()
        if batch is not None and self._attached and batch.events:
            self._output_buffer(batch)
        if batch is None:
            self.active = None
            self._vad.arm_idle_timeout()
        return batch

    def receive(self, event: Any) -> list[dict[str, Any]]:
        """Handle one client event; returns the immediate server events."""
        if not isinstance(event, dict) or "type" not in event:
            return [self.ids.error_event("invalid_event", "The 'type' field is missing.", client=event)]
        kind = event["type"]
        handler = getattr(self, "_on_" + str(kind).replace(".", "_"), None)
        if kind not in CLIENT_EVENT_TYPES or handler is None:
            return [self.ids.error_event("invalid_value", f"Invalid value: '{kind}'. Supported values are: "
                                + ", ".join(f"'{t}'" for t in sorted(CLIENT_EVENT_TYPES)) + ".",
                                param="type", client=event)]
        try:
            check_fields(kind, event)
            result: list[dict[str, Any]] = handler(event)
            return result
        except (FieldError, SessionUpdateError) as exc:
            return [self.ids.error_event(exc.code, exc.message, param=exc.param, client=event)]
        except (AttributeError, KeyError, TypeError, ValueError):  # binascii.Error too
            # A malformed field the checks above did not name: the real API answers with an error
            # event and keeps the socket, in its words, never ours. Handlers validate before they
            # change state, so nothing is half-applied.
            return [self.ids.error_event("invalid_value", f"Invalid value in '{kind}': the event does not match "
                                         f"the '{kind}' schema.", client=event)]

    # --- session ---------------------------------------------------------------------------------

    def _assistant_audio_present(self) -> bool:
        """Whether the conversation holds assistant audio (then the voice is locked, as live)."""
        if any(s.item.get("role") == "assistant" and s.audio for s in self.conversation.items):
            return True
        return self.active is not None and self.active.produced_audio

    def _on_session_update(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        before = {t.get("server_label") for t in self.session["tools"] if t.get("type") == "mcp"}
        try:
            self.session = apply_update(self.session, event.get("session"),
                                        audio_present=self._assistant_audio_present())
        except SessionUpdateError as exc:
            return [self.ids.error_event(exc.code, exc.message, param=exc.param, client=event)]
        out = [self.ids.server_event("session.updated", session=self.session)]
        for tool in self.session["tools"]:
            if tool.get("type") == "mcp" and tool["server_label"] not in before:
                out += self._mcp_listing_failed(tool["server_label"])
        return out

    def _mcp_listing_failed(self, label: str) -> list[dict[str, Any]]:
        """The live server lists a hosted MCP server's tools when it is configured; the simulator
        reaches no MCP server, so the listing fails (its item stays, with no tools)."""
        item = {"id": self.ids.new("item_"), "type": "mcp_list_tools", "server_label": label, "tools": []}
        previous = self.conversation.add(StoredItem(item=item))
        return [
            self.ids.server_event("conversation.item.added", previous_item_id=previous, item=dict(item)),
            self.ids.server_event("mcp_list_tools.in_progress", item_id=item["id"]),
            self.ids.server_event("mcp_list_tools.failed", item_id=item["id"]),
            self.ids.server_event("conversation.item.done", previous_item_id=previous, item=dict(item)),
        ]

    def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if not self._attached:
            # The server-side output buffer exists only for WebRTC/SIP calls; on a WebSocket
            # session the client owns playback (it truncates instead).
            return [self.ids.error_event("invalid_value", "output_audio_buffer.clear is only supported for "
                                         "WebRTC and SIP sessions; on a WebSocket session stop playback locally "
                                         "and send conversation.item.truncate.", param="type", client=event)]
        out = []
        if self.responding:
            assert self.active is not None
            out += self.active.cancel("client_cancelled")
            self.active = None
        self._playing = None
        return [*out, self.ids.server_event("output_audio_buffer.cleared", response_id=self._last_response_id or "")]

    # --- input audio ----------------------------------------------------------------------------

    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            audio = base64.b64decode(event.get("audio", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            return [self.ids.error_event("invalid_value", "Invalid value: 'audio' is not valid base64.",
                                param="audio", client=event)]
        self._buffer += audio
        out: list[dict[str, Any]] = []
        for signal in self._vad.feed(audio, self._input_format, self._turn_detection):
            if signal.kind == "started":
                out += self._speech_started(signal.start_ms)
            elif signal.kind == "stopped":
                item_id = self._speech_item or self.ids.new("item_")
                out.append(self.ids.server_event("input_audio_buffer.speech_stopped", audio_end_ms=signal.end_ms,
                                       item_id=item_id))
                out += self._commit(item_id, auto=True)
            else:
                item_id = self.ids.new("item_")
                out.append(self.ids.server_event("input_audio_buffer.timeout_triggered", item_id=item_id,
                                       audio_start_ms=signal.start_ms, audio_end_ms=signal.end_ms))
                out += self._commit(item_id, auto=True)
        return out

    def _speech_event(self, start_ms: int) -> tuple[dict[str, Any], bool]:
        """``speech_started`` for a new user item, and whether it interrupts the response."""
        self._speech_item = self.ids.new("item_")
        event = self.ids.server_event("input_audio_buffer.speech_started", audio_start_ms=start_ms,
                            item_id=self._speech_item)
        return event, bool((self._turn_detection or {}).get("interrupt_response", True))

    def _speech_started(self, start_ms: int) -> list[dict[str, Any]]:
        event, interrupt = self._speech_event(start_ms)
        out = [event]
        if self.responding and interrupt:
            assert self.active is not None
            out += self.active.cancel("turn_detected")
            self.active = None
        return out

    def _barge_in(self) -> tuple[list[dict[str, Any]], bool]:
        """A scripted barge-in: speech starts now; interrupt if the session says so."""
        event, interrupt = self._speech_event(self._vad.force_start())
        return [event], interrupt

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        ms = duration_ms(self._input_format, len(self._buffer))
        if ms < _MIN_COMMIT_MS:
            return [self.ids.error_event(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
                f"audio, but buffer only has {ms:.2f}ms of audio.", client=event)]
        return self._commit(self._speech_item or self.ids.new("item_"), auto=False)

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self._buffer.clear()
        self._vad.reset()
        self._speech_item = None
        return [self.ids.server_event("input_audio_buffer.cleared")]

    def _commit(self, item_id: str, *, auto: bool) -> list[dict[str, Any]]:
        audio = bytes(self._buffer)
        self._buffer.clear()
        self._vad.reset()
        self._speech_item = None
        item = {"id": item_id, "type": "message", "status": "completed", "role": "user",
                "content": [{"type": "input_audio", "transcript": None}]}
        heard = None
        if self._next_turn < len(self._turns):
            heard = self._turns[self._next_turn].transcript
        stored = StoredItem(item=item, audio=audio, audio_ms=len(audio) // bytes_per_ms(self._input_format),
                            heard=heard)
        previous = self.conversation.add(stored)
        out = [
            self.ids.server_event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
            self.ids.server_event("conversation.item.added", previous_item_id=previous, item=dict(item)),
            self.ids.server_event("conversation.item.done", previous_item_id=previous, item=dict(item)),
        ]
        if self.session["audio"]["input"]["transcription"] is not None:
            text = self.conversation.last_user_text() or ""
            out.append(self.ids.server_event("conversation.item.input_audio_transcription.delta", item_id=item_id,
                                   content_index=0, delta=text))
            out.append(self.ids.server_event("conversation.item.input_audio_transcription.completed", item_id=item_id,
                                   content_index=0, transcript=text,
                                   usage={"type": "duration", "seconds": stored.audio_ms / 1000}))
        detection = self._turn_detection
        if auto and detection is not None and detection.get("create_response", True) and not self.responding:
            out += self._start_response({}, None)
        return out

    # --- conversation items ----------------------------------------------------------------------

    def _on_conversation_item_create(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return create_item(self.conversation, self.ids, event, self._input_format)

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return retrieve_item(self.conversation, self.ids, event)

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return delete_item(self.conversation, self.ids, event)

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        output = format_from_wire(self.session["audio"]["output"]["format"])
        return truncate_item(self.conversation, self.ids, event, self.active, output)

    # --- responses ------------------------------------------------------------------------------

    def _on_response_create(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self.responding:
            assert self.active is not None
            return [self.ids.error_event(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.active.id}. "
                "Wait until the response is finished before creating a new one.", client=event)]
        params = event.get("response") or {}
        check_response_params(params)
        if "tool_choice" in params:
            check_tool_choice("response.tool_choice", params["tool_choice"])
        voice = (params.get("audio") or {}).get("output", {}).get("voice")
        if voice is not None:
            check_voice("response.audio.output.voice", voice)
        return self._start_response(params, event)

    def _on_response_cancel(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = event.get("response_id")
        if not self.responding or (wanted and self.active is not None and wanted != self.active.id):
            return [self.ids.error_event("response_cancel_not_active",
                                "Cancellation failed: no active response found", client=event)]
        assert self.active is not None
        events = self.active.cancel("client_cancelled")
        self.active = None
        self._vad.arm_idle_timeout()
        return events

    def _actions(self, tools: list[dict[str, Any]], instructions: str, tool_choice: Any) -> tuple[Action, ...]:
        text = self.conversation.last_user_text()
        # A system message is an instruction, not a turn to answer (e.g. a client's replay note).
        last = next((s.item for s in reversed(self.conversation.items)
                     if s.item.get("type") != "mcp_list_tools" and s.item.get("role") != "system"), None)

        def rules(visible: list[dict[str, Any]]) -> tuple[Action, ...]:
            return default_actions(last_item=last, user_text=text, tools=visible, instructions=instructions,
                                   call_names=self.conversation.call_names())

        actions: tuple[Action, ...] | None = None
        scripted = False
        if self._next_turn < len(self._turns):
            turn = self._turns[self._next_turn]
            if (turn.match is None) or (text is not None and turn.matches(text)):
                self._next_turn += 1
                actions = tuple(self._resolve(a, tools) for a in turn.actions)
                scripted = True
        if actions is None:
            actions = rules(tools if tool_choice != "none" else [])
        return apply_tool_choice(actions, tool_choice=tool_choice, tools=tools, user_text=text,
                                 fallback=lambda: rules([]), scripted=scripted)

    @staticmethod
    def _resolve(action: Action, tools: list[dict[str, Any]]) -> Action:
        if not isinstance(action, Handoff):
            return action
        if action.tool:
            return Call(action.tool, "{}")
        wanted = HANDOFF_PREFIX + "".join(c if c.isalnum() else "_" for c in (action.agent or "").lower())
        names = [t.get("name", "") for t in tools]
        return Call(next((n for n in names if n.lower() == wanted), wanted), "{}")

    def _start_response(self, params: dict[str, Any], event: dict[str, Any] | None) -> list[dict[str, Any]]:
        session = self.session
        tools = params.get("tools", session["tools"]) or []
        instructions = params.get("instructions", session["instructions"]) or ""
        output = (params.get("audio") or {}).get("output") or {}
        try:
            fmt = format_from_wire(output.get("format", session["audio"]["output"]["format"]))
        except ValueError as exc:
            return [self.ids.error_event("invalid_value", str(exc), param="response.audio.output.format", client=event)]
        modalities = params.get("output_modalities", session["output_modalities"])
        tool_choice = params.get("tool_choice", session["tool_choice"])
        try:
            actions = self._actions(tools, instructions, tool_choice)
        except UnknownForcedTool as exc:
            param = "response.tool_choice" if "tool_choice" in params else "session.tool_choice"
            return [self.ids.error_event("invalid_value", f"Tool choice '{exc.name}' is not one of the "
                                         "function tools of the session or response.", param=param, client=event)]
        config = ResponseConfig(
            modality="text" if modalities == ["text"] else "audio",
            audio_format=fmt,
            voice=output.get("voice", session["audio"]["output"]["voice"]),
            max_output_tokens=params.get("max_output_tokens", session["max_output_tokens"]),
            metadata=params.get("metadata"),
            conversation_id=None if params.get("conversation") == "none" else self._conversation_id,
        )
        self.active = ResponseRun(
            ids=self.ids, conversation=self.conversation, actions=actions,
            config=config, barge_in=self._barge_in,
            input_tokens=sum(len(str(s.item)) // 4 for s in self.conversation.items) + len(instructions) // 4,
        )
        self._last_response_id = self.active.id
        return []
