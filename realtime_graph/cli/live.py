"""One live ``rtgraph run`` call: the task tree that owns the session and everything around it.

::

    LiveCall.main                       task group: signal watcher + the call
    └── _call                           task group owning the event printer (drains to the end)
        └── session (async with)        task group "work": reloader, stdin, microphone, speaker
            └── _drive                  --input-wav, --say, then stdin lines; returns when done

The printer sits outside the session's ``async with`` so that, when the call ends, it still
prints every event the session produced before closing. Ctrl-C/SIGTERM cancel the whole tree
and ``main`` returns 130.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from ..audio import AudioFormat, duration_ms, format_from_wire, silence
from ..errors import ConfigError, SessionError
from ..graph.model import thaw
from ..runtime import events as ev
from ..transports import protocol
from . import audio_io
from .console import Console, TranscriptView
from .prompt import ApprovalDesk, read_lines
from .reporting import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, UserFacingError

if TYPE_CHECKING:
    from ..graph.model import Graph
    from ..runtime import Runner, Session

__all__ = ("LiveCall", "LiveOptions")

# Trailing silence after a WAV so server VAD sees the end of the turn, and how long to wait
# for the response it triggers before saying so.
_END_OF_TURN_SILENCE_MS = 1000
_RESPONSE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveOptions:
    """What the user asked ``rtgraph run`` to do (already validated by click)."""

    path: Path
    say: tuple[str, ...] = ()
    events_json: bool = False
    input_wav: Path | None = None
    output_wav: Path | None = None
    mic: bool = False
    approve_all: bool = False
    reload: bool = True
    agent: str | None = None
    stdin_is_tty: bool = field(default_factory=lambda: sys.stdin.isatty())


def _audio_format(graph: Graph, direction: str) -> AudioFormat:
    settings = thaw(graph.model_settings)
    wire = ((settings.get("audio") or {}).get(direction) or {}).get("format")
    try:
        return format_from_wire(wire)
    except ValueError as exc:
        raise UserFacingError(f"audio.{direction}.format: {exc}") from None


def _server_vad(graph: Graph) -> bool:
    audio_input = (thaw(graph.model_settings).get("audio") or {}).get("input") or {}
    return "turn_detection" not in audio_input or audio_input["turn_detection"] is not None


class LiveCall:
    """Runs one session in the terminal; :meth:`main` returns the exit code."""

    def __init__(self, runner: Runner, graph: Graph, options: LiveOptions, *, out: TextIO) -> None:
        self.runner = runner
        self.graph = graph
        self.options = options
        self.out = out
        # In JSON mode stdout carries only events; human lines go to stderr.
        self.console = Console(sys.stderr if options.events_json else out)
        self.interactive = options.stdin_is_tty and not options.say and options.input_wav is None
        self.view = TranscriptView(self.console, start_agent=options.agent or graph.start,
                                   echo_user_text=not self.interactive)
        self.interrupted = False
        self.server_closed = False
        # Decoded now, before connecting, so a file that is not a WAV fails the run at once.
        self._input_audio = (tuple(audio_io.wav_chunks(options.input_wav, _audio_format(graph, "input")))
                             if options.input_wav is not None else ())
        self._response_started = anyio.Event()
        self._printer_done = anyio.Event()
        self._recorder: audio_io.WavRecorder | None = None
        self._speaker_send: Any = None
        self._speaker_receive: Any = None
        self._speaker: audio_io.Speaker | None = None
        self._desk: ApprovalDesk | None = None

    async def main(self) -> int:
        code = EXIT_OK
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            code = await self._call()
            tg.cancel_scope.cancel()
        if self.interrupted:
            self.console.line("* interrupted by user; session closed")
            return EXIT_INTERRUPTED
        return code

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self.interrupted = True
                scope.cancel()
                return

    async def _call(self) -> int:
        options = self.options
        if options.output_wav is not None:
            self._recorder = audio_io.WavRecorder(options.output_wav, _audio_format(self.graph, "output"))
        sounddevice = audio_io.import_sounddevice() if options.mic else None
        try:
            async with anyio.create_task_group() as printer_group:
                async with self.runner.run(agent=options.agent) as session:
                    self._desk = ApprovalDesk(session, self.console, interactive=self.interactive,
                                              approve_all=options.approve_all)
                    async with anyio.create_task_group() as work:
                        printer_group.start_soon(self._print_events, session, work.cancel_scope)
                        self._started(session)
                        if options.reload:
                            await work.start(self._reloader(session).run)
                        if sounddevice is not None:
                            self._start_devices(work, session, sounddevice)
                        await self._drive(session)
                        work.cancel_scope.cancel()
        finally:
            if self._recorder is not None:
                self._recorder.close()
        if self.server_closed:
            self.console.line("! the server closed the session")
            return EXIT_ERROR
        return EXIT_OK

    def _started(self, session: Session) -> None:
        agent = session.current_agent.name
        hint = ("type a message and press Enter (Ctrl-D or Ctrl-C to quit)" if self.interactive else "")
        self.console.line(f"* session started: graph {self.graph.version}, agent {agent}"
                          + (f"; {hint}" if hint else ""))

    # -- what the user sends ----------------------------------------------------------------

    async def _drive(self, session: Session) -> None:
        options = self.options
        await self._wait_idle(session)  # a greeting (greeting:) is spoken before the first input
        if options.input_wav is not None:
            await self._send_wav(session, options.input_wav.name)
        for text in options.say:
            await self._send_text(session, text, wait=True)
        if options.say or options.input_wav is not None:
            return
        desk = self._desk
        assert desk is not None
        async for line in read_lines(sys.stdin.fileno()):
            if desk.asking:
                await desk.answer(line)
            elif line.strip():
                await self._send_text(session, line.strip(), wait=not self.interactive)
        await desk.end_of_input()  # a question nobody can answer any more would never let us idle
        await self._wait_idle(session)
        if options.mic:  # Ctrl-D ends typing, not the voice call
            await anyio.sleep_forever()

    async def _send_text(self, session: Session, text: str, *, wait: bool) -> None:
        await session.send_message(text)
        if wait:
            await self._wait_idle(session)

    async def _wait_idle(self, session: Session) -> None:
        """``session.wait_idle``, leaving the report of a connection that ended to the printer."""
        try:
            await session.wait_idle()
        except SessionError:
            # The connection ended before the turn did. The printer shows every event that came
            # before, then reports the end once: a clean close as "! the server closed the
            # session" (cancelling the work scope), a lost connection by raising ConnectionLost
            # (cancelling the whole call). Either way this task is cancelled: wait for that.
            await self._printer_done.wait()
            await anyio.sleep_forever()

    async def _send_wav(self, session: Session, name: str) -> None:
        fmt = _audio_format(self.graph, "input")
        chunks = list(self._input_audio)
        total_ms = duration_ms(fmt, sum(map(len, chunks)))
        self.console.line(f"* streaming {name} ({total_ms:.0f} ms) as microphone input")
        vad = _server_vad(self.graph)
        if vad:
            chunks.append(silence(fmt, _END_OF_TURN_SILENCE_MS))
        for chunk in chunks:
            await session.send_audio(chunk)
            await anyio.sleep(audio_io.CHUNK_MS / 1000)  # a microphone delivers in real time
        if not vad:
            await session.send_audio(b"", commit=True)
            await session.send_raw(protocol.response_create())
        with anyio.move_on_after(_RESPONSE_TIMEOUT_S) as waited:
            await self._response_started.wait()
        if waited.cancelled_caught:
            raise SessionError(f"no response to {name} within {_RESPONSE_TIMEOUT_S:g}s "
                               "(is the audio loud enough for voice activity detection?)")
        await self._wait_idle(session)

    # -- what the session does --------------------------------------------------------------

    async def _print_events(self, session: Session, work: anyio.CancelScope) -> None:
        json_out = self.options.events_json
        recorder, view, desk = self._recorder, self.view, self._desk
        assert desk is not None
        try:
            async for event in session:
                if json_out:
                    self.out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
                    self.out.flush()
                else:
                    view.show(event)
                if isinstance(event, ev.AudioEvent):
                    if recorder is not None:
                        recorder.write(event.audio)
                    if self._speaker_send is not None:
                        self._speaker_send.send_nowait(event.audio)
                elif isinstance(event, ev.AgentStartEvent):
                    self._response_started.set()
                elif isinstance(event, ev.AudioInterruptedEvent):
                    self._flush_speaker()
                elif isinstance(event, ev.ToolApprovalRequiredEvent):
                    await desk.required(event)
            if not work.cancel_called:  # the stream ended while we still wanted to talk
                self.server_closed = True
                work.cancel()
        finally:
            self._printer_done.set()

    def _reloader(self, session: Session) -> Any:
        from ..config import render_issues
        from ..reload import GraphReloader

        def on_graph(graph: Graph) -> None:
            session.update_graph(graph)

        def on_error(error: ConfigError) -> None:
            # render_issues ends with the error count: the headline does not repeat it.
            self.console.line(f"! reload rejected; still running graph {session.graph.version}")
            for line in render_issues(error.issues, "text").rstrip("\n").splitlines():
                self.console.line(line)

        return GraphReloader(self.options.path, on_graph=on_graph, on_error=on_error, initial=self.graph)

    # -- live devices -----------------------------------------------------------------------

    def _start_devices(self, work: Any, session: Session, sounddevice: Any) -> None:
        out_fmt = _audio_format(self.graph, "output")
        # Unbounded: every chunk received is meant to be played; barge-in flushes it.
        send, receive = anyio.create_memory_object_stream[bytes](math.inf)
        self._speaker_send, self._speaker_receive = send, receive
        self._speaker = audio_io.Speaker(sounddevice, out_fmt)
        work.start_soon(self._play, self._speaker, receive)
        work.start_soon(self._listen, session, sounddevice, _audio_format(self.graph, "input"))
        self.console.line("* microphone and speaker on")

    def _flush_speaker(self) -> None:
        if self._speaker is None:
            return
        while True:
            try:
                self._speaker_receive.receive_nowait()
            except anyio.WouldBlock:
                break
        self._speaker.stop()

    async def _listen(self, session: Session, sounddevice: Any, fmt: AudioFormat) -> None:
        async for chunk in audio_io.microphone_chunks(sounddevice, fmt):
            await session.send_audio(chunk)

    async def _play(self, speaker: audio_io.Speaker, receive: Any) -> None:
        try:
            async with receive:
                async for audio in receive:
                    await speaker.play(audio)
        finally:
            speaker.close()
