"""CallsClient against the fake Calls API on a real loopback HTTP server, and the fake's own behaviour."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest

from realtime_graph.telephony import AcceptResult, CallsApiError, CallsClient, accept_body, calls_base_url
from realtime_graph.telephony.fakes import FakeCallsApi
from realtime_graph.telephony.webhooks import verify_webhook

pytestmark = pytest.mark.anyio

SESSION = {"type": "realtime", "instructions": "You answer the phone.", "output_modalities": ["audio"],
           "audio": {"input": {"turn_detection": {"type": "semantic_vad", "interrupt_response": True},
                               "transcription": {"model": "gpt-4o-mini-transcribe"}},
                     "output": {"voice": "marin"}},
           "tools": [{"type": "function", "name": "hangup", "description": "End the call.",
                      "parameters": {"type": "object", "properties": {}}}],
           "tracing": "auto"}


def test_base_url_resolution():
    assert calls_base_url(environ={}) == "https://api.openai.com/v1"
    assert calls_base_url(environ={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/"}) == "http://127.0.0.1:9/v1"
    assert calls_base_url("https://x/v1", environ={"OPENAI_BASE_URL": "http://y"}) == "https://x/v1"


def test_accept_body():
    assert accept_body({"instructions": "x", "model_name": "m"}, model="gpt-realtime-2.1") == {
        "instructions": "x", "type": "realtime", "model": "gpt-realtime-2.1"}


async def test_accept_refer_hangup_with_real_request_shapes():
    api = FakeCallsApi(api_key="sk-test")
    call_id = api.add_call("rtc_1", [("From", "sip:+1415@pstn")])
    async with api.serve() as base, CallsClient(environ={"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "sk-test"}) as calls:
        assert await calls.accept(call_id, accept_body(SESSION, model="gpt-realtime-2.1")) is AcceptResult.ACCEPTED
        await calls.refer(call_id, "tel:+14155550123")
        await calls.hangup(call_id)
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", "/v1/realtime/calls/rtc_1/accept"), ("POST", "/v1/realtime/calls/rtc_1/refer"),
        ("POST", "/v1/realtime/calls/rtc_1/hangup")]
    accept, refer, hangup = api.requests
    assert accept.body == {**SESSION, "model": "gpt-realtime-2.1"}
    assert accept.headers["authorization"] == "Bearer sk-test"
    assert accept.headers["content-type"] == "application/json"
    assert not any(name.startswith("openai-beta") for r in api.requests for name in r.headers)
    assert refer.body == {"target_uri": "tel:+14155550123"}
    assert hangup.body is None and hangup.headers["content-length"] == "0"
    assert api.calls["rtc_1"].state == "ended" and api.calls["rtc_1"].referred_to == ["tel:+14155550123"]


async def test_accept_of_a_gone_caller_is_a_result_and_reject_486():
    api = FakeCallsApi()
    busy = api.add_call("rtc_busy")
    async with api.serve() as base, CallsClient(base_url=base, api_key="sk-test") as calls:
        assert await calls.accept("rtc_gone", {"type": "realtime"}) is AcceptResult.CALLER_GONE
        await calls.reject(busy)
        with pytest.raises(CallsApiError) as info:
            await calls.hangup("rtc_gone")
    assert api.requests[1].body == {"status_code": 486}
    assert api.calls[busy].state == "rejected" and api.calls[busy].reject_status == 486
    assert (info.value.status, info.value.code) == (404, "call_id_not_found")
    assert str(info.value) == ("hangup of call rtc_gone failed: HTTP 404 call_id_not_found: "
                               "No session found for the provided call_id")


async def test_fake_validates_the_accept_body_against_the_openai_types():
    api = FakeCallsApi()
    api.add_call("rtc_1")
    async with api.serve() as base, CallsClient(base_url=base, api_key="sk-test") as calls:
        with pytest.raises(CallsApiError) as info:
            await calls.accept("rtc_1", {"type": "realtime", "voice": "marin"})  # beta-era top-level voice
        assert info.value.status == 400
        assert "Invalid accept body: voice: Extra inputs are not permitted" in str(info.value)
        with pytest.raises(CallsApiError, match=r"audio\.output\.voice"):
            await calls.accept("rtc_1", {"type": "realtime", "audio": {"output": {"voice": 3}}})
        assert api.calls["rtc_1"].state == "pending"
        assert await calls.accept("rtc_1", {"type": "realtime"}) is AcceptResult.ACCEPTED
        with pytest.raises(CallsApiError, match="already accepted"):
            await calls.accept("rtc_1", {"type": "realtime"})


async def test_fake_rejects_bad_auth_and_the_beta_header():
    api = FakeCallsApi(api_key="sk-right")
    api.add_call("rtc_1")
    async with api.serve() as base:
        async with CallsClient(base_url=base, api_key="sk-wrong") as calls:
            with pytest.raises(CallsApiError) as info:
                await calls.hangup("rtc_1")
        assert (info.value.status, info.value.code) == (401, "invalid_api_key")
        async with httpx2.AsyncClient() as raw:
            r = await raw.post(f"{base}/realtime/calls/rtc_1/hangup",
                               headers={"Authorization": "Bearer sk-right", "OpenAI-Beta": "realtime=v1"})
            assert r.status_code == 400
            assert r.json()["error"]["code"] == "beta_api_shape_disabled"
            r = await raw.post(f"{base}/realtime/calls/rtc_1/unknown", headers={"Authorization": "Bearer sk-right"})
            assert r.status_code == 404


async def test_client_errors_before_any_request():
    with pytest.raises(CallsApiError, match="no OpenAI API key"):
        CallsClient(environ={})
    async with CallsClient(base_url="http://127.0.0.1:9/v1", api_key="k") as calls:
        with pytest.raises(CallsApiError, match="not a global tel: number"):
            await calls.refer("rtc_1", "tel:555")
        with pytest.raises(CallsApiError, match="SIP reject status must be 400-699, got 200"):
            await calls.reject("rtc_1", 200)
    with pytest.raises(CallsApiError, match="not open"):
        await CallsClient(api_key="k").hangup("rtc_1")


async def test_network_failure_is_our_error():
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    async with CallsClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k") as calls:
        with pytest.raises(CallsApiError, match=r"^hangup of call rtc_1: ConnectError"):
            await calls.hangup("rtc_1")


async def test_fake_sends_signed_incoming_webhooks():
    secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    received = []
    receiver = FakeCallsApi()  # reuse the HTTP shell as a webhook receiver

    def handle(method, path, headers, raw):
        received.append((path, verify_webhook(raw, headers, secret=secret), json.loads(raw)))
        return 200, None

    receiver.handle = handle  # type: ignore[method-assign]
    api = FakeCallsApi()
    call_id = api.add_call(sip_headers=[("From", "sip:+1415@pstn"), ("X-Line", "billing")])
    async with receiver.serve() as base:
        response = await api.send_incoming(base.removesuffix("/v1") + "/openai/webhook", call_id, secret=secret,
                                           webhook_id="wh_1")
    assert response.status_code == 200
    ((path, webhook_id, event),) = received
    assert (path, webhook_id) == ("/openai/webhook", "wh_1")
    assert event["type"] == "realtime.call.incoming" and event["data"]["call_id"] == call_id
    assert event["data"]["sip_headers"] == [{"name": "From", "value": "sip:+1415@pstn"},
                                            {"name": "X-Line", "value": "billing"}]
