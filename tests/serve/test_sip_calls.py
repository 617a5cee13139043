"""SIP calls end to end on loopback: signed webhook → real uvicorn ``rtgraph serve`` → fake Calls API
(accept body validated against the openai package's type) → the simulator's sideband ``?call_id=``
session started with the accepted configuration → a tool → transfer (refer) → hangup.

Everything is real: uvicorn, the h11 Calls API fake, the websockets simulator, httpx2 clients.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from realtime_graph.config import load
from realtime_graph.runtime.session_config import build_session, instruction_values
from realtime_graph.telephony.fakes import FakeCallsApi
from realtime_graph.transports import OpenAITransport, Simulator
from realtime_graph.transports.simulator import CallBook, CallRecord
from tests.support.serving import BaseURL, serving
from tests.support.simulated import RecordingSimulator, check_client_events

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FOLDER = Path(__file__).parent / "sip_phone"
SCRIPT = Path(__file__).parent / "sip_script.yaml"
SECRET = "whsec_" + "c2lwLXRlc3Qtc2VjcmV0LWtleS0xMjM0NTY3ODkw"  # base64 of a test key
ENV = {"SIP_TEST_WEBHOOK_SECRET": SECRET, "OPENAI_API_KEY": "sk-test"}


@dataclass
class Rig:
    api: FakeCallsApi
    book: CallBook
    url: BaseURL
    simulator: RecordingSimulator

    @property
    def webhook(self) -> str:
        return self.url.path("/openai/webhook")

    async def ring(self, *headers: tuple[str, str], **kwargs: Any) -> tuple[str, httpx2.Response]:
        call_id = self.api.add_call(sip_headers=headers)
        return call_id, await self.api.send_incoming(self.webhook, call_id, secret=SECRET, **kwargs)

    async def until(self, call_id: str, state: str, timeout: float = 10.0) -> CallRecord:
        record = self.book.calls[call_id]
        with anyio.fail_after(timeout):
            while record.state != state:
                await anyio.sleep(0.01)
        return record


@asynccontextmanager
async def rig(monkeypatch: pytest.MonkeyPatch, *, script: Path | None = SCRIPT, folder: Path = FOLDER,
              **options: Any) -> AsyncIterator[Rig]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    book = CallBook()
    api = FakeCallsApi(api_key="sk-test", calls=book)
    simulator = RecordingSimulator(script=script, calls=book)
    async with api.serve() as base, simulator.serve() as sideband:
        monkeypatch.setenv("OPENAI_BASE_URL", base)
        graph = load(folder)
        async with serving(graph, transport=OpenAITransport(url=sideband, api_key="sk-test"), **options) as url:
            yield Rig(api, book, url, simulator)
    check_client_events([simulator])  # every client event on the sideband, strictly (official types)


def expected_accept(agent: str, context: dict[str, str]) -> dict[str, Any]:
    """What the runtime would send as session.update for ``agent``, as an accept body."""
    graph = load(FOLDER)
    session = build_session(graph, graph.agents[agent], instruction_values(graph, context), call_id="rtc_x",
                            include_tracing=True)
    return {**session, "type": "realtime", "model": "gpt-realtime"}


async def test_webhook_accept_tool_transfer_hangup(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch) as r:
        with anyio.fail_after(2):
            call_id, response = await r.ring(("From", "sip:+14155550100@pstn"), ("To", "sip:+18005550199@acme"))
        assert response.status_code == 200 and response.json() == {"status": "received"}
        record = await r.until(call_id, "ended")
        with anyio.fail_after(5):
            while "session ended" not in r.url.log.getvalue():
                await anyio.sleep(0.01)
        log = r.url.log.getvalue()
    actions = r.api.actions(call_id)
    assert [a for a, _ in actions] == ["accept", "refer", "hangup"]
    accept = actions[0][1]
    assert accept == expected_accept("triage", {})
    tools = [t["name"] for t in accept["tools"]]
    assert tools == ["lookup_order", "hangup", "transfer_to_sales"]
    assert accept["instructions"] == "You answer the phone for Acme. The caller is unknown."
    assert accept["audio"]["output"]["voice"] == "marin"
    assert accept["audio"]["input"]["turn_detection"] == {"type": "semantic_vad", "interrupt_response": True}
    assert "format" not in accept["audio"]["input"]  # SIP negotiated the codec
    assert accept["tracing"] == "auto"
    assert actions[1][1] == {"target_uri": "tel:+14155550123"}
    assert record.referred_to == ["tel:+14155550123"] and record.hung_up and record.attached == 1
    assert f"call accepted channel=sip call={call_id} agent=triage rule=default" in log
    assert f"call={call_id} agent=triage outcome=hung_up" in log


async def test_sideband_session_starts_with_the_accepted_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator's ?call_id= session.created already carries the accept body (no session.update yet)."""
    book = CallBook()
    call_id = book.add()
    accepted = expected_accept("triage", {})
    book.accept(book.calls[call_id], accepted)
    import websockets

    async with Simulator(calls=book).serve() as url:
        headers = {"Authorization": "Bearer sk-test"}
        async with websockets.connect(f"{url}?call_id={call_id}", additional_headers=headers) as ws:
            created = json.loads(await ws.recv())
        assert created["type"] == "session.created"
        session = created["session"]
        assert session["model"] == "gpt-realtime" and session["instructions"] == accepted["instructions"]
        assert [t["name"] for t in session["tools"]] == ["lookup_order", "hangup", "transfer_to_sales"]
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(f"{url}?call_id=rtc_unknown", additional_headers=headers):
                pass
        assert info.value.response.status_code == 404
        assert b"call_id_not_found" in info.value.response.body


async def test_routing_by_header_to_two_start_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None) as r:
        main, _ = await r.ring(("From", "sip:+14155550100@pstn"))
        billing, _ = await r.ring(("From", "sip:+14155550111@pstn"), ("X-Line", "billing"))
        await r.until(main, "accepted")
        await r.until(billing, "accepted")
        main_body, billing_body = r.api.actions(main)[0][1], r.api.actions(billing)[0][1]
        with anyio.fail_after(5):
            while "rule=0" not in r.url.log.getvalue() or len(r.simulator.received_of("response.create")) < 2:
                await anyio.sleep(0.01)
        log = r.url.log.getvalue()
    assert main_body == expected_accept("triage", {})
    assert billing_body == expected_accept("billing", {"caller": "sip:+14155550111@pstn"})
    assert billing_body["instructions"] == "You handle billing questions for sip:+14155550111@pstn."
    assert [t["name"] for t in billing_body["tools"]] == ["hangup"]
    assert f"call={billing} agent=billing rule=0" in log
    greetings = [e["response"]["instructions"] for e in r.simulator.received_of("response.create")]
    assert sorted(greetings) == ["Greet the caller and offer to look up their order.",
                                 "Say that this is the billing line and greet sip:+14155550111@pstn."]


async def test_bad_signature_and_stale_timestamp_get_400_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    async with rig(monkeypatch) as r:
        call_id = r.api.add_call()
        body = json.dumps(r.api.incoming_event(call_id)).encode()
        from realtime_graph.telephony import webhook_headers

        async with httpx2.AsyncClient() as client:
            wrong = webhook_headers(body, secret="whsec_" + "d3Jvbmc=", webhook_id="wh_1")
            bad = await client.post(r.webhook, content=body, headers=wrong)
            stale = await r.api.send_incoming(r.webhook, call_id, secret=SECRET, timestamp=int(time.time()) - 310)
            future = await r.api.send_incoming(r.webhook, call_id, secret=SECRET, timestamp=int(time.time()) + 310)
            unsigned = await client.post(r.webhook, content=body)
            metrics = (await client.get(r.url.path("/metrics"))).text
        await anyio.sleep(0.2)
    assert bad.status_code == 400
    assert bad.json() == {"error": "webhook signature does not match: wrong secret, or the body was changed"}
    assert stale.status_code == 400 and stale.json()["error"].startswith("webhook timestamp is too old (31")
    assert future.status_code == 400 and future.json()["error"].startswith("webhook timestamp is too new (3")
    assert unsigned.status_code == 400
    assert unsigned.json() == {"error": "missing webhook-id header; the request is not a signed webhook"}
    assert r.api.actions(call_id) == [] and r.book.calls[call_id].state == "pending"
    assert 'rtgraph_sessions_refused_total{channel="sip",reason="signature"} 4.0' in metrics


async def test_redelivery_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None) as r:
        call_id, first = await r.ring(webhook_id="wh_same")
        again = await r.api.send_incoming(r.webhook, call_id, secret=SECRET, webhook_id="wh_same")
        other_id = await r.api.send_incoming(r.webhook, call_id, secret=SECRET, webhook_id="wh_other")
        await r.until(call_id, "accepted")
        await anyio.sleep(0.2)
        log = r.url.log.getvalue()
        during = [a for a, _ in r.api.actions(call_id)]
    assert first.json() == {"status": "received"}
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert other_id.status_code == 200 and other_id.json() == {"status": "duplicate"}
    assert during == ["accept"]
    assert log.count("webhook redelivered") == 2
    # shutting the server down ends the live call rather than leaving it unattended
    assert [a for a, _ in r.api.actions(call_id)] == ["accept", "hangup"]
    assert "outcome=shutdown" in r.url.log.getvalue()


async def test_at_capacity_the_call_is_rejected_with_486(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None, max_sessions=1) as r:
        first, _ = await r.ring()
        await r.until(first, "accepted")
        second, response = await r.ring()
        record = await r.until(second, "rejected")
        async with httpx2.AsyncClient() as client:
            ready = await client.get(r.url.path("/readyz"))
            metrics = (await client.get(r.url.path("/metrics"))).text
    assert response.status_code == 200  # the webhook is answered; the call is declined
    assert r.api.actions(second) == [("reject", {"status_code": 486})]
    assert record.reject_status == 486
    assert ready.status_code == 503 and ready.json()["reason"] == "full"
    assert 'rtgraph_sessions_active{channel="sip"} 1.0' in metrics
    assert 'rtgraph_sessions_refused_total{channel="sip",reason="full"} 1.0' in metrics


async def test_caller_gone_before_accept_is_logged_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None) as r:
        call_id = r.api.add_call()
        event = r.api.incoming_event(call_id)
        r.book.end(r.book.calls[call_id], hangup=False)  # the caller hung up while the webhook was in flight
        body = json.dumps(event).encode()
        from realtime_graph.telephony import webhook_headers

        async with httpx2.AsyncClient() as client:
            response = await client.post(r.webhook, content=body,
                                         headers=webhook_headers(body, secret=SECRET, webhook_id="wh_gone"))
        with anyio.fail_after(5):
            while "session ended" not in r.url.log.getvalue():
                await anyio.sleep(0.01)
        log = r.url.log.getvalue()
    assert response.status_code == 200
    assert f"caller gone channel=sip call={call_id}" in log
    assert "outcome=caller_gone" in log and "accept failed" not in log


async def test_a_failed_accept_is_logged_and_the_server_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None) as r:
        r.api.api_key = "sk-other"  # the server's key is refused: accept answers 401
        call_id, response = await r.ring()
        with anyio.fail_after(5):
            while "session ended" not in r.url.log.getvalue():
                await anyio.sleep(0.01)
        r.api.api_key = "sk-test"
        again, _ = await r.ring()
        await r.until(again, "accepted")
        log = r.url.log.getvalue()
    assert response.status_code == 200
    assert (f"accept failed channel=sip call={call_id} detail=\"accept of call {call_id} failed: HTTP 401 "
            f"invalid_api_key: Incorrect API key provided.\"") in log
    assert f"call={call_id} agent=triage outcome=accept_failed" in log


async def test_an_oversized_webhook_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None) as r, httpx2.AsyncClient() as client:
        response = await client.post(r.webhook, content=b"x" * ((1 << 20) + 1))
    assert response.status_code == 413 and response.json() == {"error": "webhook body over 1048576 bytes"}


async def test_a_reload_reaches_a_live_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil

    async with rig(monkeypatch, script=None) as r:
        call_id, _ = await r.ring()
        await r.until(call_id, "accepted")
        with anyio.fail_after(5):
            while not r.simulator.received_of("session.update"):
                await anyio.sleep(0.01)
        folder = tmp_path / "edited"
        shutil.copytree(FOLDER, folder)
        agents = folder / "agents.yaml"
        agents.write_text(agents.read_text().replace("You answer the phone for Acme.", "You answer for Acme Ltd."))
        r.url.server.registry.publish_graph(load(folder))
        with anyio.fail_after(5):
            while len(r.simulator.received_of("session.update")) < 2:
                await anyio.sleep(0.01)
    first, second = r.simulator.received_of("session.update")
    assert first["session"]["instructions"] == "You answer the phone for Acme. The caller is unknown."
    assert second["session"]["instructions"] == "You answer for Acme Ltd. The caller is unknown."


async def test_telephony_max_calls_rejects_with_486(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "capped"
    shutil.copytree(FOLDER, folder)
    graph_file = folder / "graph.yaml"
    graph_file.write_text(graph_file.read_text().replace("telephony:\n", "telephony:\n  max_calls: 1\n"))
    async with rig(monkeypatch, script=None, folder=folder) as r:
        first, _ = await r.ring()
        await r.until(first, "accepted")
        second, _ = await r.ring()
        await r.until(second, "rejected")
        log = r.url.log.getvalue()
    assert r.api.actions(second) == [("reject", {"status_code": 486})]
    assert f"call rejected channel=sip call={second} status=486 reason=max_calls" in log


async def test_without_an_api_key_calls_are_refused_with_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIP_TEST_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    api = FakeCallsApi()
    call_id = api.add_call()
    async with serving(load(FOLDER)) as url:  # the simulator: no key anywhere
        response = await api.send_incoming(url.path("/openai/webhook"), call_id, secret=SECRET)
        log = url.log.getvalue()
    assert response.status_code == 503
    assert response.json()["error"].startswith("cannot answer calls: no Calls API credentials (")
    assert "OPENAI_API_KEY" in response.json()["error"]
    assert "webhook refused channel=sip reason=unavailable" in log


async def test_drain_refuses_new_calls_and_hangs_up_live_ones_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(monkeypatch, script=None, drain_timeout=0.3) as r:
        live, _ = await r.ring()
        await r.until(live, "accepted")
        r.url.server.drain()
        late, _ = await r.ring()
        await r.until(late, "rejected")
        await r.until(live, "ended")
        with anyio.fail_after(5):
            while "outcome=drained" not in r.url.log.getvalue():
                await anyio.sleep(0.01)
        log = r.url.log.getvalue()
    assert r.api.actions(late) == [("reject", {"status_code": 486})]
    assert f"call rejected channel=sip call={late} status=486 reason=draining" in log
    assert [a for a, _ in r.api.actions(live)] == ["accept", "hangup"]
    assert f"call={live} agent=triage outcome=drained" in log


async def test_dynamic_instructions_are_evaluated_for_the_accept_body(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """The accept body comes from the session's own builder: an instructions entrypoint runs for it."""
    import shutil

    folder = tmp_path / "dynamic"
    shutil.copytree(FOLDER, folder)
    # a module of its own: `sip_tools` is already imported from the shared fixture folder
    (folder / "sip_dynamic.py").write_text(
        "def billing_instructions(context, agent):\n"
        "    return f\"{agent.name} desk for {context.context['caller']}.\"\n")
    agents = folder / "agents.yaml"
    agents.write_text(agents.read_text().replace("instructions: You handle billing questions for {{ caller }}.",
                                                 "instructions: {entrypoint: 'sip_dynamic:billing_instructions'}"))
    async with rig(monkeypatch, script=None, folder=folder) as r:
        call_id, _ = await r.ring(("From", "sip:+14155550111@pstn"), ("X-Line", "billing"))
        await r.until(call_id, "accepted")
        with anyio.fail_after(5):
            while not r.simulator.received_of("session.update"):
                await anyio.sleep(0.01)
    accept = r.api.actions(call_id)[0][1]
    assert accept["instructions"] == "billing desk for sip:+14155550111@pstn."
    assert r.simulator.received_of("session.update")[0]["session"]["instructions"] == accept["instructions"]
