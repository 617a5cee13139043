"""The pure parts of the server: protocol parsing and translation, access checks, options, log lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_graph.config import load
from realtime_graph.graph.model import Agent, Graph, GuardrailResult, Secret, ServeSettings
from realtime_graph.runtime import events as ev
from realtime_graph.serve import ServeConfigError, resolve_options, token_subprotocol
from realtime_graph.serve import browser_protocol as bp
from realtime_graph.serve.access import host_allowed, offered_token, origin_allowed, token_matches
from realtime_graph.serve.serve_metrics import ServeMetrics
from realtime_graph.serve.serve_options import is_loopback
from realtime_graph.serve.session_log import ServeLog
from realtime_graph.serve.session_registry import SessionRegistry
from tests.support.serving import EXAMPLE

GRAPH = load(EXAMPLE)


# -- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('{"type": "text", "text": "hi"}', bp.TextTurn("hi")),
    ('{"type": "approve", "call_id": "c1"}', bp.Approve("c1", False)),
    ('{"type": "approve", "call_id": "c1", "always": true}', bp.Approve("c1", True)),
    ('{"type": "reject", "call_id": "c1", "always": false, "message": null}', bp.Reject("c1", False, None)),
    ('{"type": "reject", "call_id": "c1", "message": "no"}', bp.Reject("c1", False, "no")),
    ('{"type": "played", "item_id": "i", "content_index": 0, "bytes": 4800}', bp.Played("i", 0, 4800)),
    ('{"type": "interrupt"}', bp.Interrupt()),
])
def test_valid_messages(text: str, expected: bp.ClientCommand) -> None:
    assert bp.parse_client_message(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ('{"type": "text", "text": "   "}', "text: 'text' is empty; send the words of the user turn"),
    ('{"type": "approve", "call_id": "c", "always": "yes"}',
     """approve: 'always' must be true or false, got "yes"; expected """
     """{"type": "approve", "call_id": "...", "always": false}"""),
    ('{"type": "played", "item_id": "i", "bytes": true}',
     """played: 'bytes' must be a whole number of bytes, got true; expected """
     """{"type": "played", "item_id": "...", "content_index": 0, "bytes": 4800}"""),
    ('{"type": "played", "item_id": "i", "bytes": -1}', "played: 'bytes' must not be negative"),
    ('{"text": "hi"}', "unknown message type missing; accepted: text, approve, reject, played, interrupt "
                       "(audio goes in binary frames)"),
    ("x" * (bp.MAX_TEXT + 1), f"message of {bp.MAX_TEXT + 1} characters is longer than the limit of {bp.MAX_TEXT}"),
])
def test_bad_messages_say_what_is_wrong(text: str, message: str) -> None:
    result = bp.parse_client_message(text)
    assert isinstance(result, bp.BadMessage) and result.message == message
    assert result.frame() == {"type": "error", "code": "bad_message", "message": message}


def test_audio_frames_must_be_whole_samples_and_bounded() -> None:
    assert bp.check_audio_frame(b"\0" * 960) is None
    too_big = bp.check_audio_frame(b"\0" * (bp.MAX_AUDIO_FRAME + 2))
    assert too_big is not None and "send 20-100 ms of audio per frame" in too_big.message


# -- translation --------------------------------------------------------------------------------

def _agent(name: str) -> Agent:
    return GRAPH.agents[name]


def test_audio_is_announced_once_per_item_then_sent_as_binary() -> None:
    t = bp.EventTranslator("concierge")
    chunk = ev.AudioEvent(audio=b"\1\2", item_id="i1", content_index=0, response_id="r")
    assert t.translate(chunk) == [{"type": "audio", "item_id": "i1", "content_index": 0}, b"\1\2"]
    assert t.translate(chunk) == [b"\1\2"]
    assert t.translate(ev.AudioInterruptedEvent(item_id="i1", content_index=0)) == [
        {"type": "audio_interrupted", "item_id": "i1", "content_index": 0}]
    assert t.translate(chunk)[0] == {"type": "audio", "item_id": "i1", "content_index": 0}  # re-announced


def test_transcripts_stream_with_the_full_text_so_far_and_the_active_agent() -> None:
    t = bp.EventTranslator("concierge")

    def raw(**data: object) -> ev.RawModelEvent:
        return ev.RawModelEvent(data=data)

    assert t.translate(ev.HandoffEvent(from_agent=_agent("concierge"), to_agent=_agent("weather"))) == [
        {"type": "handoff", "from": "concierge", "to": "weather"}]
    frames = [t.translate(raw(type="response.output_audio_transcript.delta", item_id="a", delta=d))[0]
              for d in ("Hel", "lo")]
    assert frames == [
        {"type": "transcript", "item_id": "a", "role": "assistant", "agent": "weather", "delta": "Hel",
         "text": "Hel", "final": False},
        {"type": "transcript", "item_id": "a", "role": "assistant", "agent": "weather", "delta": "lo",
         "text": "Hello", "final": False}]
    assert t.translate(raw(type="response.output_audio_transcript.done", item_id="a", transcript="Hello")) == [
        {"type": "transcript", "item_id": "a", "role": "assistant", "agent": "weather", "delta": None,
         "text": "Hello", "final": True}]
    user_item = {"id": "u", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    first = t.translate(raw(type="conversation.item.added", item=user_item))
    assert first == [{"type": "transcript", "item_id": "u", "role": "user", "agent": "weather", "delta": None,
                      "text": "hi", "final": True}]
    assert t.translate(raw(type="conversation.item.created", item=user_item)) == []  # once per item
    assert t.translate(raw(type="conversation.item.input_audio_transcription.completed", item_id="v",
                           transcript="spoken")) == [
        {"type": "transcript", "item_id": "v", "role": "user", "agent": "weather", "delta": None,
         "text": "spoken", "final": True}]
    assert t.translate(raw(type="response.output_audio.delta", delta="AAAA")) == []


def test_tools_approvals_guardrails_reloads_and_errors() -> None:
    t = bp.EventTranslator("booking")
    booking = _agent("booking")
    assert t.translate(ev.ToolApprovalRequiredEvent(agent=booking, tool="book_table", call_id="c",
                                                    arguments='{"a": 1}')) == [
        {"type": "approval_required", "call_id": "c", "name": "book_table", "arguments": '{"a": 1}'}]
    assert t.translate(ev.ToolEndEvent(agent=booking, tool="book_table", call_id="c", arguments="{}",
                                       output={"ok": True})) == [
        {"type": "tool_end", "call_id": "c", "name": "book_table", "output": '{"ok": true}'}]
    trip = ev.GuardrailTrippedEvent(guardrail_results=[GuardrailResult(True, guardrail="no_card_numbers")],
                                    message="card 4111")
    assert t.translate(trip) == [{"type": "guardrail_tripped", "guardrail": "no_card_numbers", "text": "card 4111"}]
    updated = ev.GraphUpdatedEvent(graph_version="v2", previous_version="v1", kept=[], pinned=False,
                                   message="graph v1 -> v2")
    assert t.translate(updated) == [{"type": "graph_updated", "version": "v2", "agent": "booking",
                                     "message": "graph v1 -> v2"}]
    assert t.translate(ev.ErrorEvent(error={"message": "boom", "code": "server_error"})) == [
        {"type": "error", "code": "server_error", "message": "boom"}]
    assert t.translate(ev.ErrorEvent(error={"message": "tool failed", "kind": "timeout", "tool": "x"})) == [
        {"type": "error", "code": "timeout", "message": "tool failed"}]
    assert t.translate(ev.HistoryUpdatedEvent(history=[])) == []


def test_the_session_message_carries_names_never_instructions_or_secrets() -> None:
    message = bp.session_message("abc", GRAPH, "concierge", input_rate=24000, output_rate=24000)
    assert json.dumps(message).count("instructions") == 0 and "Acme" not in json.dumps(message)
    assert message["graph"]["agents"][0].keys() == {"name", "tools", "handoffs", "guardrails"}


# -- access -------------------------------------------------------------------------------------

def test_token_subprotocol_round_trip_and_constant_time_match() -> None:
    offer = token_subprotocol("s3cret/+=")
    assert offer.startswith("rtgraph.token.") and "=" not in offer
    assert offered_token(["rtgraph.v1", offer]) == "s3cret/+="
    assert offered_token(["rtgraph.v1"]) is None
    assert offered_token(["rtgraph.token.%%%"]) is None
    assert token_matches(None, None) and token_matches("a", "a")
    assert not token_matches(None, "a") and not token_matches("b", "a")


@pytest.mark.parametrize(("origin", "host", "secure", "allowed", "ok"), [
    (None, "127.0.0.1:8080", False, (), True),
    ("http://127.0.0.1:8080", "127.0.0.1:8080", False, (), True),
    ("http://localhost:8080", "127.0.0.1:8080", False, (), False),
    ("https://voice.example.com", "voice.example.com", True, (), True),
    ("http://voice.example.com", "voice.example.com", True, (), False),
    ("http://evil.example", "127.0.0.1:8080", False, ("http://evil.example/",), True),
    ("null", "127.0.0.1:8080", False, (), False),
])
def test_origin_rule(origin: str | None, host: str, secure: bool, allowed: tuple[str, ...], ok: bool) -> None:
    assert origin_allowed(origin, host, secure=secure, allowed=allowed) is ok


def test_loopback_names() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "example.com", "::"]))
    assert host_allowed("localhost:8080", loopback_bind=True)
    assert not host_allowed("attacker.example:8080", loopback_bind=True) and not host_allowed(None, loopback_bind=True)
    assert host_allowed("anything", loopback_bind=False)


# -- options ------------------------------------------------------------------------------------

def test_flags_override_the_graph_block_which_overrides_defaults() -> None:
    block = ServeSettings(host="127.0.0.2", port=9000, max_sessions=5, drain_timeout=10.0)
    options = resolve_options(block, environ={}, port=0, drain_timeout=2.5)
    assert (options.host, options.port, options.max_sessions, options.drain_timeout, options.token) == \
        ("127.0.0.2", 0, 5, 2.5, None)
    assert resolve_options(ServeSettings(), environ={}).port == 8080


def test_tokens_come_only_from_the_environment_and_never_show_in_repr() -> None:
    block = ServeSettings(host="0.0.0.0", token=Secret("${TOK}"))
    options = resolve_options(block, environ={"TOK": "abc"})
    assert options.token == "abc" and "abc" not in repr(options)
    with pytest.raises(ServeConfigError, match=r"^serve\.auth\.token: environment variable TOK is not set"):
        resolve_options(block, environ={})
    assert resolve_options(ServeSettings(host="0.0.0.0"), environ={"RTGRAPH_TOKEN": "t"}).token == "t"
    with pytest.raises(ServeConfigError, match=r"refusing to serve on 10\.1\.2\.3 without a token"):
        resolve_options(ServeSettings(), environ={}, host="10.1.2.3")


def test_the_serve_block_is_loaded_and_validated(tmp_path: Path) -> None:
    from realtime_graph.config import validate

    (tmp_path / "graph.yaml").write_text(
        "kind: graph\nstart: a\nserve:\n  port: 9999\n  max_sessions: 3\n  drain_timeout: 45s\n"
        "  allowed_origins: [https://c.example.com]\n  auth: {token: '${T}'}\n  channels: {browser: {enabled: true}}\n")
    (tmp_path / "a.yaml").write_text("kind: agent\nname: a\ninstructions: hi\n")
    graph = load(tmp_path, environ={"T": "x"})
    assert graph.serve == ServeSettings(port=9999, max_sessions=3, drain_timeout=45.0, token=Secret("${T}"),
                                        allowed_origins=("https://c.example.com",))
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: a\nserve:\n  max_sessions: 0\n  hots: x\n")
    issues = [f"{i.line}:{i.column} {i.code} {i.message}" for i in validate(tmp_path).issues]
    assert issues == ["4:17 RG110 must be >= 1", "5:3 RG111 unknown key 'hots'"]


# -- log lines and the registry -----------------------------------------------------------------

def test_log_lines_text_and_json() -> None:
    text = ServeLog(log_format="text")
    assert text.line("session ended", id="ab12", channel="browser", agent="concierge", outcome="client_closed",
                     duration="3.0s") == \
        "rtgraph: session ended id=ab12 channel=browser agent=concierge outcome=client_closed duration=3.0s"
    assert text.line("reload rejected", "edit not applied", sessions=None) == \
        "rtgraph: reload rejected edit not applied"
    as_json = ServeLog(log_format="json", clock=lambda: 12.5)
    assert json.loads(as_json.line("session started", id="ab", agent="x y")) == {
        "ts": 12.5, "event": "session started", "id": "ab", "agent": "x y"}
    assert text.line("e", agent="x y") == 'rtgraph: e agent="x y"'


class _Live:
    channel = "browser"

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.graphs: list[Graph] = []
        self.closed: list[str] = []

    def offer_graph(self, graph: Graph) -> None:
        self.graphs.append(graph)

    def reload_rejected(self, message: str) -> None:
        pass

    def close(self, reason: str) -> None:
        self.closed.append(reason)


def test_registry_capacity_drain_and_fan_out() -> None:
    registry = SessionRegistry(GRAPH, max_sessions=2, metrics=ServeMetrics())
    a, b, c = _Live("a"), _Live("b"), _Live("c")
    assert registry.admit(a) is None and registry.admit(b) is None
    assert registry.not_ready() == "full" and registry.admit(c) == "full"
    registry.publish_graph(GRAPH)
    assert a.graphs == [GRAPH] and b.graphs == [GRAPH] and c.graphs == []
    registry.release(a, "client_closed")
    registry.release(a, "client_closed")  # idempotent
    assert registry.not_ready() is None and len(registry) == 1
    registry.start_drain()
    assert registry.not_ready() == "draining" and registry.admit(c) == "draining"
    registry.close_all("draining")
    assert b.closed == ["draining"]
