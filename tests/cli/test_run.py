"""Acceptance: the real ``rtgraph run`` in a subprocess, on the embedded simulator (no pacing)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from realtime_graph.audio import resample_pcm16, synthesize_speech
from realtime_graph.cli.run import SIMULATOR_NOTICE
from tests.support.cli import Terminal, rtgraph, version_of

pytestmark = pytest.mark.slow


def test_say_shows_simulator_transcripts_handoff_and_tool(agents: Path) -> None:
    result = rtgraph(agents, "--sim-speed", "0", "--say", "What's the weather in Paris?",
                     "--say", "get weather in Rome")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        SIMULATOR_NOTICE,
        f"* session started: graph {version_of(agents)}, agent concierge",
        "you: What's the weather in Paris?",
        "* handoff: concierge -> weather",
        "weather: Hi, this is weather. You work for Acme Travel and tell callers the current weather.",
        '* tool get_weather {"city": "Paris"}',
        "* tool get_weather -> The weather in Paris is sunny, 21 °C.",
        "weather: get_weather returned The weather in Paris is sunny, 21 °C.",
        "you: get weather in Rome",
        '* tool get_weather {"city": "Rome"}',
        "* tool get_weather -> The weather in Rome is clear skies, 20 °C.",
        "weather: get_weather returned The weather in Rome is clear skies, 20 °C.",
    ]
    assert result.stderr == ""


def test_piped_stdin_works_like_say_and_exits_at_eof(agents: Path) -> None:
    result = rtgraph(agents, "--sim-speed", "0", stdin="hello there\n\nWhat's the weather in Paris?\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2:] == [
        "you: hello there",
        "concierge: You said: hello there",
        "you: What's the weather in Paris?",
        "* handoff: concierge -> weather",
        "weather: Hi, this is weather. You work for Acme Travel and tell callers the current weather.",
        '* tool get_weather {"city": "Paris"}',
        "* tool get_weather -> The weather in Paris is sunny, 21 °C.",
        "weather: get_weather returned The weather in Paris is sunny, 21 °C.",
    ]


def test_non_interactive_runs_reject_approvals_unless_approve_all(agents: Path) -> None:
    turns = ["--say", "booking please", "--say", "book table restaurant=Chez time=19:30"]
    rejected = rtgraph(agents, "--sim-speed", "0", *turns)
    assert rejected.returncode == 0, rejected.stderr
    assert ("* tool book_table needs approval: rejected (non-interactive run; pass --approve-all to approve)"
            in rejected.stdout.splitlines())
    # the model is told why, so it can explain to the caller
    assert ("* tool book_table -> The user could not be asked to approve this tool call (non-interactive run)."
            in rejected.stdout.splitlines())
    approved = rtgraph(agents, "--sim-speed", "0", "--approve-all", *turns)
    lines = approved.stdout.splitlines()
    assert "* tool book_table approved (--approve-all)" in lines
    assert any(line.startswith('* tool book_table -> {"confirmed": true, "restaurant": "Chez"') for line in lines)


def test_events_json_prints_every_event_as_json(agents: Path) -> None:
    result = rtgraph(agents, "--sim-speed", "0", "--events", "json", "--say", "What's the weather in Paris?")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert result.stderr.splitlines()[0] == SIMULATOR_NOTICE
    derived = [e["type"] for e in events if e["type"] not in ("raw_model_event", "audio", "history_added",
                                                                "history_updated")]
    assert derived == ["agent_start", "handoff", "agent_end",           # concierge hands off
                       "agent_start", "audio_end", "agent_end",         # weather greets, calls the tool
                       "tool_start", "tool_end",
                       "agent_start", "audio_end", "agent_end"]         # and speaks the result
    raw = [e["data"]["type"] for e in events if e["type"] == "raw_model_event"]
    assert raw[:2] == ["session.created", "session.updated"]
    assert [t for t in raw if t.startswith("response.")][-1] == "response.done"
    assert {e["graph_version"] for e in events} == {version_of(agents)}


def test_record_writes_a_cassette(agents: Path, tmp_path: Path) -> None:
    cassette = tmp_path / "call.jsonl"
    result = rtgraph(agents, "--sim-speed", "0", "--record", cassette, "--say", "hello")
    assert result.returncode == 0, result.stderr
    header, *lines = [json.loads(line) for line in cassette.read_text(encoding="utf-8").splitlines()]
    assert header["cassette"] == 1 and header["graph_version"] == version_of(agents)
    assert [line["dir"] for line in lines[:2]] == ["client", "server"]
    assert lines[0]["event"]["type"] == "session.update"
    assert lines[1]["event"]["type"] == "session.created"
    sent = [line["event"]["type"] for line in lines if line["dir"] == "client"]
    assert sent == ["session.update", "conversation.item.create", "response.create"]
    received = [line["event"]["type"] for line in lines if line["dir"] == "server"]
    assert [t for t in received if t.startswith("response.")][-1] == "response.done"
    times = [line["t"] for line in lines]
    assert times == sorted(times)


def test_input_wav_streams_audio_and_output_wav_records(agents: Path, tmp_path: Path) -> None:
    source = tmp_path / "question.wav"
    with wave.open(str(source), "wb") as wav:  # 16 kHz: the CLI must resample to 24 kHz
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(resample_pcm16(synthesize_speech("hello there", 800), 24000, 16000))
    answer = tmp_path / "answer.wav"
    result = rtgraph(agents, "--sim-speed", "0", "--input-wav", source, "--output-wav", answer)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "* streaming question.wav (800 ms) as microphone input"
    assert lines[3].startswith("you (voice): ")
    assert lines[4].startswith("concierge: You said: ")
    with wave.open(str(answer), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        assert wav.getnframes() > 24000 // 10


def test_broken_folder_exits_1_with_located_error(agents: Path) -> None:
    (agents / "weather.yaml").write_text((agents / "weather.yaml").read_text() + "voice: ash\n")
    result = rtgraph(agents, "--say", "hi")
    assert result.returncode == 1
    assert f"{agents / 'weather.yaml'}:13:1: error RG111" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_missing_audio_extra_is_one_line(agents: Path) -> None:
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        result = rtgraph(agents, "--mic", "--sim-speed", "0")
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == (
            "rtgraph run: live audio needs the optional extra: pip install 'realtime-graph[audio]'")
        assert "Traceback" not in result.stderr
    else:
        pytest.skip("sounddevice is installed")


def test_ctrl_c_ends_the_session_with_130(agents: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "realtime_graph", "run", str(agents), "--sim-speed", "0"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == SIMULATOR_NOTICE + "\n"
        assert process.stdout.readline().startswith("* session started")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 130
    assert out.splitlines()[-1] == "* interrupted by user; session closed"
    assert "Traceback" not in err


def test_interactive_prompt_under_a_pty_approves_a_tool_and_ctrl_d_rejects_an_open_question(agents: Path) -> None:
    with Terminal(agents, "--sim-speed", "0") as terminal:
        terminal.read_until(b"type a message and press Enter")
        terminal.type(b"booking please\n")
        terminal.read_until(b"* handoff: concierge -> booking")
        terminal.type(b"book table restaurant=Chez time=19:30\n")
        terminal.read_until(b"? approve tool book_table")
        terminal.type(b"a\n")
        terminal.read_until(b"* tool book_table approved once")
        terminal.read_until(b'* tool book_table -> {"confirmed": true')
        terminal.type(b"book table restaurant=Luigi time=20:00\n")
        terminal.read_until(b'? approve tool book_table {"restaurant": "Luigi"')
        terminal.type(b"\x04")  # Ctrl-D while the question is open: nobody can answer it any more
        assert terminal.wait() == 0
    lines = terminal.text.splitlines()
    assert lines[-3:] == [
        "* tool book_table rejected (input closed)",
        "* tool book_table -> The user could not be asked to approve this tool call (non-interactive run).",
        "booking: book_table returned The user could not be asked to approve this tool call (non-interactive run).",
    ]
    assert "Traceback" not in terminal.text
    assert "you: booking please" not in terminal.text  # the terminal echo is the only copy of typed text


def test_a_missing_input_wav_is_a_usage_error_before_connecting(agents: Path, tmp_path: Path) -> None:
    result = rtgraph(agents, "--input-wav", tmp_path / "missing.wav")
    assert result.returncode == 2
    assert result.stdout == ""  # nothing started: no simulator notice, no session
    assert f"Invalid value for '--input-wav': File '{tmp_path / 'missing.wav'}' does not exist." in result.stderr
    assert "Traceback" not in result.stderr
