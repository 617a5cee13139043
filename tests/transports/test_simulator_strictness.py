"""The simulator is as strict as the live API where a scenario could otherwise pass offline and fail
live (issue 11). Real loopback WebSockets through OpenAITransport; every server event is
validated against the official ``openai`` types by the ``connect`` fixture."""

from __future__ import annotations

import re

import pytest

from realtime_graph.errors import ConnectError
from realtime_graph.transports import ConnectRequest, Simulator, SimulatorTransport
from realtime_graph.transports import protocol as p

pytestmark = pytest.mark.anyio

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLOCK = {"type": "function", "name": "get_time", "description": "The time",
         "parameters": {"type": "object", "properties": {}}}
MCP = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/sse"}


def error(code, message, param, event_id=None) -> dict:
    return {"type": "invalid_request_error", "code": code, "message": message, "param": param, "event_id": event_id}


async def respond(c, text: str, **response) -> dict:
    await c.send(p.user_message(text))
    await c.send({"type": "response.create", "response": response} if response else p.response_create())
    return (await c.until("response.done"))[-1]["response"]


def kinds(response: dict) -> list[tuple[str, str]]:
    return [(o["type"], o.get("name") or o["content"][0].get("transcript", "")) for o in response["output"]]


# --- tool_choice -------------------------------------------------------------------------------

async def test_tool_choice_none_at_session_level_gives_a_message_not_a_call(connect) -> None:
    async with connect(session={"tools": [WEATHER], "tool_choice": "none"}) as (c, _):
        done = await respond(c, "What's the weather in Paris?")
    assert kinds(done) == [("message", "You said: What's the weather in Paris?")]


async def test_tool_choice_none_at_response_level_overrides_the_session(connect) -> None:
    async with connect(session={"tools": [WEATHER]}) as (c, _):
        done = await respond(c, "weather in Paris", tool_choice="none")
        again = await respond(c, "weather in Paris")
    assert kinds(done) == [("message", "You said: weather in Paris")]
    assert kinds(again) == [("function_call", "get_weather")]  # the session's auto again


async def test_tool_choice_none_drops_scripted_calls_but_keeps_the_speech(connect) -> None:
    script = p_script("- actions:\n    - say: Checking.\n    - call: {tool: get_weather, arguments: {city: Oslo}}\n")
    async with connect(Simulator(script=script), session={"tools": [WEATHER], "tool_choice": "none"}) as (c, _):
        done = await respond(c, "weather in Oslo")
    assert kinds(done) == [("message", "Checking.")]


async def test_tool_choice_required_calls_a_tool_when_the_text_names_none(connect) -> None:
    async with connect(session={"tools": [WEATHER, CLOCK], "tool_choice": "required"}) as (c, _):
        done = await respond(c, "Hello there, Bob")
    assert kinds(done) == [("function_call", "get_weather")]
    assert done["output"][0]["arguments"] == '{"city": "Bob"}'


async def test_tool_choice_function_forces_that_function(connect) -> None:
    async with connect(session={"tools": [WEATHER, CLOCK]}) as (c, _):
        done = await respond(c, "weather in Rome", tool_choice={"type": "function", "name": "get_time"})
    assert kinds(done) == [("function_call", "get_time")]


async def test_tool_choice_naming_a_missing_function_is_refused(connect) -> None:
    async with connect(session={"tools": [WEATHER]}) as (c, _):
        await c.send(p.user_message("hi"))
        await c.send({"type": "response.create", "event_id": "r1",
                      "response": {"tool_choice": {"type": "function", "name": "nope"}}})
        got = await c.until("error")
    assert got[-1]["error"] == error("invalid_value", "Tool choice 'nope' is not one of the function tools of the "
                                     "session or response.", "response.tool_choice", "r1")
    assert "response.created" not in [e["type"] for e in got]


async def test_invalid_tool_choice_is_refused_and_nothing_applied(connect) -> None:
    async with connect() as (c, _):
        await c.send({"type": "session.update", "event_id": "u1",
                      "session": {"type": "realtime", "tool_choice": "always", "instructions": "x"}})
        err = (await c.until("error"))[-1]["error"]
        await c.send(p.session_update({"type": "realtime"}))
        session = (await c.until("session.updated"))[-1]["session"]
    assert err == error("invalid_value", "Invalid value: 'always'. Supported values are: 'auto', 'none', and "
                        "'required'.", "session.tool_choice", "u1")
    assert session["tool_choice"] == "auto" and session["instructions"] != "x"


# --- out-of-band responses ---------------------------------------------------------------------

async def test_out_of_band_response_is_not_added_to_the_conversation(connect) -> None:
    async with connect() as (c, _):
        await c.send(p.user_message("summarise"))
        await c.until("conversation.item.done")
        await c.send({"type": "response.create", "response": {"conversation": "none", "metadata": {"topic": "x"}}})
        events = await c.until("response.done")
        done = events[-1]["response"]
        item_id = done["output"][0]["id"]
        await c.send({"type": "conversation.item.retrieve", "event_id": "g1", "item_id": item_id})
        err = (await c.until("error"))[-1]["error"]
    assert done["conversation_id"] is None and done["metadata"] == {"topic": "x"}
    assert not [e for e in events if e["type"].startswith("conversation.item.")]
    assert err == error("invalid_value", f"Item with item_id '{item_id}' not found.", "item_id", "g1")


async def test_bad_conversation_value_is_refused(connect) -> None:
    async with connect() as (c, _):
        await c.send({"type": "response.create", "event_id": "r2", "response": {"conversation": "default"}})
        err = (await c.until("error"))[-1]["error"]
    assert err == error("invalid_value", "Invalid value: 'default'. Supported values are: 'auto' and 'none'.",
                        "response.conversation", "r2")


# --- voices ------------------------------------------------------------------------------------

async def test_voice_change_after_assistant_audio_is_refused(connect) -> None:
    async with connect() as (c, _):
        await c.send(p.session_update({"type": "realtime", "audio": {"output": {"voice": "marin"}}}))
        assert (await c.until("session.updated"))[-1]["session"]["audio"]["output"]["voice"] == "marin"
        await respond(c, "hi")
        await c.send({"type": "session.update", "event_id": "v1",
                      "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}}})
        err = (await c.until("error"))[-1]["error"]
        await c.send(p.session_update({"type": "realtime", "audio": {"output": {"voice": "marin"}}}))
        same = (await c.until("session.updated"))[-1]["session"]
    assert err == error("cannot_update_voice", "Cannot update a conversation's voice if assistant audio is present.",
                        None, "v1")
    assert same["audio"]["output"]["voice"] == "marin"  # repeating the voice is fine


async def test_voice_change_after_text_only_answers_is_accepted(connect) -> None:
    async with connect(session={"output_modalities": ["text"]}) as (c, _):
        await respond(c, "hi")
        await c.send(p.session_update({"type": "realtime", "audio": {"output": {"voice": "cedar"}}}))
        session = (await c.until("session.updated"))[-1]["session"]
    assert session["audio"]["output"]["voice"] == "cedar"


@pytest.mark.parametrize("voice, shown", [("nova", "nova"), ("Marin", "Marin"), ({"name": "x"}, '{"name": "x"}')])
async def test_unknown_voices_are_refused(connect, voice, shown) -> None:
    async with connect() as (c, _):
        await c.send({"type": "session.update", "event_id": "v2",
                      "session": {"type": "realtime", "audio": {"output": {"voice": voice}}}})
        err = (await c.until("error"))[-1]["error"]
    assert err == error("invalid_value", f"Invalid value: '{shown}'. Supported values are: 'alloy', 'ash', "
                        "'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', and 'cedar'.",
                        "session.audio.output.voice", "v2")


async def test_custom_voice_object_is_accepted(connect) -> None:
    async with connect(session={"audio": {"output": {"voice": {"id": "voice_123"}}}}) as (c, _):
        await c.send(p.session_update({"type": "realtime"}))
        session = (await c.until("session.updated"))[-1]["session"]
    assert session["audio"]["output"]["voice"] == {"id": "voice_123"}


# --- item content ------------------------------------------------------------------------------

async def test_assistant_message_with_input_text_is_refused(connect) -> None:
    async with connect() as (c, _):
        await c.send({"type": "conversation.item.create", "event_id": "i1", "item": {
            "type": "message", "role": "assistant", "content": [{"type": "input_text", "text": "hello"}]}})
        got = await c.until("error")
        await c.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}})
        added = (await c.until("conversation.item.done"))[-1]["item"]
    assert [e["type"] for e in got] == ["error"]
    assert got[0]["error"] == error("invalid_value", "Invalid value: 'input_text'. Supported values are: "
                                    "'output_text' and 'output_audio'.", "item.content[0].type", "i1")
    assert added["content"] == [{"type": "output_text", "text": "hello"}]


@pytest.mark.parametrize("role, part, allowed, param", [
    ("system", {"type": "output_text", "text": "x"}, "'input_text'", "item.content[0].type"),
    ("user", {"type": "output_audio", "transcript": "x"}, "'input_text', 'input_audio' and 'input_image'",
     "item.content[0].type"),
])
async def test_content_types_are_checked_per_role(connect, role, part, allowed, param) -> None:
    async with connect() as (c, _):
        await c.send({"type": "conversation.item.create", "item": {"type": "message", "role": role,
                                                                    "content": [part]}})
        err = (await c.until("error"))[-1]["error"]
    assert err["message"] == f"Invalid value: '{part['type']}'. Supported values are: {allowed}."
    assert err["param"] == param


# --- hosted MCP tools --------------------------------------------------------------------------

async def test_hosted_mcp_tool_lists_its_tools_and_the_listing_fails(connect) -> None:
    async with connect() as (c, _):
        await c.send(p.session_update({"type": "realtime", "tools": [MCP]}))
        events = await c.until("conversation.item.done")
        # a later update with the same server does not list it again
        await c.send(p.session_update({"type": "realtime", "tools": [MCP], "instructions": "again"}))
        again = await c.until("session.updated")
    assert [e["type"] for e in events] == ["session.updated", "conversation.item.added", "mcp_list_tools.in_progress",
                                           "mcp_list_tools.failed", "conversation.item.done"]
    item = events[1]["item"]
    assert item == {"id": item["id"], "type": "mcp_list_tools", "server_label": "docs", "tools": []}
    assert events[2]["item_id"] == events[3]["item_id"] == item["id"]
    assert [e["type"] for e in again] == ["session.updated"]


async def test_tool_without_a_name_is_refused(connect) -> None:
    async with connect() as (c, _):
        await c.send(p.session_update({"type": "realtime", "tools": [{"type": "mcp", "server_url": "https://x"}]}))
        err = (await c.until("error"))[-1]["error"]
    assert err["code"] == "missing_required_parameter"
    assert err["message"] == "Missing required parameter: 'session.tools[0].server_label'."


# --- output_audio_buffer.clear -----------------------------------------------------------------

async def test_output_audio_buffer_clear_on_a_websocket_session_is_an_error(connect) -> None:
    async with connect() as (c, _):
        await c.send({"type": "output_audio_buffer.clear", "event_id": "o1"})
        err = (await c.until("error"))[-1]["error"]
    assert err == error("invalid_value", "output_audio_buffer.clear is only supported for WebRTC and SIP sessions; "
                        "on a WebSocket session stop playback locally and send conversation.item.truncate.",
                        "type", "o1")


async def test_output_audio_buffer_clear_on_an_attached_call_answers_cleared(connect) -> None:
    async with connect(request=ConnectRequest(call_id="rtc_1")) as (c, _):
        done = await respond(c, "hi")
        await c.send({"type": "output_audio_buffer.clear"})
        cleared = (await c.until("output_audio_buffer.cleared"))[-1]
    assert cleared["response_id"] == done["id"]


# --- model -------------------------------------------------------------------------------------

async def test_model_in_session_update_may_repeat_but_not_change(connect) -> None:
    async with connect() as (c, _):
        await c.send(p.session_update({"type": "realtime", "model": "gpt-realtime"}))
        same = (await c.until("session.updated"))[-1]["session"]
        await c.send({"type": "session.update", "event_id": "m1",
                      "session": {"type": "realtime", "model": "gpt-realtime-mini", "instructions": "changed"}})
        err = (await c.until("error"))[-1]["error"]
    assert same["model"] == "gpt-realtime"
    assert err == error("invalid_value", "Cannot update a session's model: the session uses 'gpt-realtime', got "
                        "'gpt-realtime-mini'.", "session.model", "m1")


async def test_connect_with_neither_model_nor_call_id_is_refused() -> None:
    with pytest.raises(ConnectError) as info:
        async with SimulatorTransport().connect(ConnectRequest()):
            pass
    assert re.fullmatch(r"realtime handshake with ws://127\.0\.0\.1:\d+/v1/realtime rejected: HTTP 400",
                        str(info.value)), str(info.value)


@pytest.mark.parametrize("query, message, param", [
    ("", "Missing required parameter: 'model' (or 'call_id' to attach to a call).", "model"),
    ("?model=m&call_id=rtc_1", "Pass either 'model' or 'call_id', not both.", "call_id"),
])
async def test_bad_connect_query_gets_http_400_with_an_api_error_body(query, message, param) -> None:
    import json

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async with Simulator().serve() as url:
        with pytest.raises(InvalidStatus) as info:
            async with connect(url + query, additional_headers={"Authorization": "Bearer k"}):
                pass
    response = info.value.response
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["message"] == message
    assert json.loads(response.body)["error"]["param"] == param


# --- the URL as the openai client's websocket_base_url ----------------------------------------

@pytest.mark.parametrize("suffix", ["", "/"])
async def test_served_url_works_as_openai_websocket_base_url(suffix) -> None:
    from openai import AsyncOpenAI

    async with Simulator().serve() as url:
        client = AsyncOpenAI(api_key="sk-test", websocket_base_url=url + suffix, base_url="http://127.0.0.1:9/v1")
        async with client.realtime.connect(model="gpt-realtime") as conn:
            created = await conn.recv()
            await conn.session.update(session={"type": "realtime", "instructions": "hi"})
            updated = await conn.recv()
    assert created.type == "session.created" and created.session.model == "gpt-realtime"
    assert updated.type == "session.updated" and updated.session.instructions == "hi"


# --- error texts -------------------------------------------------------------------------------

PYTHON_WORDS = re.compile(r"object has no attribute|NoneType|'str' object|'int' object|'list' object|"
                          r"unhashable|Traceback|KeyError|TypeError|not subscriptable|Incorrect padding|"
                          r"invalid literal|object is not")

MALFORMED = [
    {"type": "session.update", "session": "x"},
    {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": "fast", "voice": 3}}}},
    {"type": "session.update", "session": {"type": "realtime", "tools": "x"}},
    {"type": "session.update", "session": {"type": "realtime", "tools": ["x"]}},
    {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": "vad"}}}},
    {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": 5}}}}},
    {"type": "input_audio_buffer.append", "audio": 5},
    {"type": "conversation.item.create", "item": "x"},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                  "content": [{"type": "input_text", "text": 5}]}},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "robot", "content": []}},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "user"}, "previous_item_id": 3},
    {"type": "conversation.item.retrieve", "item_id": ["x"]},
    {"type": "conversation.item.delete", "item_id": {"a": 1}},
    {"type": "conversation.item.truncate", "item_id": "x", "audio_end_ms": "5"},
    {"type": "response.create", "response": {"tools": "x"}},
    {"type": "response.create", "response": {"audio": {"output": "x"}}},
    {"type": "response.create", "response": {"audio": {"output": {"voice": "nova"}}}},
    {"type": "response.create", "response": {"instructions": 5}},
    {"type": "response.cancel", "response_id": 7},
]


@pytest.mark.parametrize("event", MALFORMED, ids=[f"{i}-{e['type']}" for i, e in enumerate(MALFORMED)])
async def test_error_texts_never_leak_python(connect, event) -> None:
    async with connect() as (c, _):
        await c.send(event)
        err = (await c.until("error"))[-1]["error"]
        await c.send(p.user_message("still there?"))
        await c.send(p.response_create())
        done = (await c.until("response.done"))[-1]["response"]
    assert not PYTHON_WORDS.search(err["message"]), err["message"]
    assert err["code"] in ("invalid_value", "invalid_type", "missing_required_parameter", "unknown_parameter")
    assert done["status"] == "completed"


def p_script(text: str):
    from realtime_graph.transports.simulator import parse_script

    return parse_script(text)
