"""Pure parts of the SIP channel: the sideband URL under a Calls API base, the webhook secret."""

from __future__ import annotations

from pathlib import Path

from realtime_graph.config import load
from realtime_graph.serve.sip_channel import sideband_url, webhook_secret

FOLDER = Path(__file__).parent / "sip_phone"


def test_sideband_url_follows_the_base() -> None:
    assert sideband_url("https://api.openai.com/v1") == "wss://api.openai.com/v1/realtime"
    assert sideband_url("http://127.0.0.1:8091/v1/") == "ws://127.0.0.1:8091/v1/realtime"
    assert sideband_url("HTTPS://proxy.example/openai/v1") == "wss://proxy.example/openai/v1/realtime"


def test_webhook_secret_from_the_graph_reference_else_the_default_variable() -> None:
    graph = load(FOLDER, environ={"SIP_TEST_WEBHOOK_SECRET": "x"})
    assert webhook_secret(graph, {"SIP_TEST_WEBHOOK_SECRET": "whsec_a", "OPENAI_WEBHOOK_SECRET": "whsec_b"}) == "whsec_a"
    assert webhook_secret(graph, {"OPENAI_WEBHOOK_SECRET": "whsec_b"}) is None  # the graph names its own variable
    plain = load(Path(__file__).parents[2] / "agents.d")
    assert webhook_secret(plain, {"OPENAI_WEBHOOK_SECRET": "whsec_b"}) == "whsec_b"
    assert webhook_secret(plain, {}) is None


def test_serve_derives_the_sideband_from_the_base_only_without_a_url(monkeypatch) -> None:
    from realtime_graph.cli.serve import _sideband
    from realtime_graph.transports import OpenAITransport, Simulator, SimulatorTransport

    graph = load(FOLDER, environ={"SIP_TEST_WEBHOOK_SECRET": "x"})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8091/v1")
    derived = _sideband(graph, OpenAITransport(), {"url": None})
    assert repr(derived) == "OpenAITransport(url='ws://127.0.0.1:8091/v1/realtime', api_key=$OPENAI_API_KEY)"
    assert _sideband(graph, OpenAITransport(url="ws://x/v1/realtime"), {"url": "ws://x/v1/realtime"}) is None
    assert _sideband(graph, SimulatorTransport(Simulator()), {"url": None}) is None
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert _sideband(graph, OpenAITransport(), {"url": None}) is None  # wss://api.openai.com, like sessions
