"""Output guardrails end to end: the offending words are cut before they are heard, and the tail
of a short answer is checked.

The simulator sends each 100 ms audio chunk in one batch with the transcript words it speaks
(transcript delta first), paced in real time here. From the wire we know at which audio offset
each word starts; the truncate's ``audio_end_ms`` is what the session's playback tracker says was
played, and the audio events handed to the app are what a player could ever play.
"""

from __future__ import annotations

import base64

import pytest

from realtime_graph.runtime import Runner
from tests.support.simulated import kinds, one_agent, simulator, until_ends, wire_types

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TEXT = ("Thanks for calling the support line today, let me look that up for you right now. "
        "Your account is active and the password is hunter two, please keep it safe.")
OFFENDING = TEXT.split(" ").index("password")
BYTES_PER_MS = 48  # PCM16 24 kHz

DENY_GRAPH = one_agent(agent_extra=r"""output_guardrails:
  - {name: no_secrets, deny: ['\bpassword\b']}
""")


def word_offsets_ms(sim, response_id: str) -> list[float]:
    """Audio offset (ms) at which each word of the response's transcript starts, from the wire:
    a transcript delta's words are spoken in the audio delta sent right after it."""
    offsets: list[float] = []
    audio_bytes = 0
    pending = 0
    for _, event in sim.emitted:
        if event.get("response_id") != response_id:
            continue
        if event["type"] == "response.output_audio_transcript.delta":
            pending += len(event["delta"].split())
        elif event["type"] == "response.output_audio.delta":
            offsets += [audio_bytes / BYTES_PER_MS] * pending
            pending = 0
            audio_bytes += len(base64.b64decode(event["delta"]))
    return offsets


async def test_deny_trip_cuts_the_audio_before_the_offending_word(load_graph) -> None:
    graph, _ = load_graph(DENY_GRAPH)
    transport, sim = simulator(f"""
    - actions:
        - say: {{text: "{TEXT}", audio_ms: 1200}}
    - actions:
        - say: {{text: "Sorry, I cannot share that.", audio_ms: 100}}
    """, realtime_factor=1.0)
    assert len(TEXT) > 100 + 10 and TEXT.index("password") > 100  # past the first debounce check
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("what is my password")
        got = await until_ends(session, 2)
        await session.wait_idle()

    first_id = sim.emitted_of("response.created")[0]["response"]["id"]
    item_id = sim.emitted_of("response.output_item.added")[0]["item"]["id"]
    offsets = word_offsets_ms(sim, first_id)
    offending_ms = offsets[OFFENDING]
    types = [e.type for e in got]
    trip_at = types.index("guardrail_tripped")
    delivered = [e for e in got[:trip_at] if e.type == "audio" and e.response_id == first_id]
    delivered_ms = sum(len(e.audio) for e in delivered) / BYTES_PER_MS

    # Session events: the audio up to the offending words, then trip and cut; nothing after it.
    chunks_before = int(offending_ms // 100)
    assert kinds(got, frozenset({"raw_model_event", "history_added", "history_updated"})) == (
        ["agent_start"] + ["audio"] * chunks_before + ["guardrail_tripped", "audio_interrupted", "agent_end",
                                                       "agent_start", "audio", "audio_end", "agent_end"])
    assert [e for e in got[trip_at:] if e.type == "audio" and e.response_id == first_id] == []
    tripped = got[trip_at]
    assert tripped.guardrail_results[0].guardrail == "no_secrets"
    assert tripped.guardrail_results[0].info == {"pattern": r"\bpassword\b", "match": "password"}
    deltas = [e["delta"] for e in sim.emitted_of("response.output_audio_transcript.delta")
              if e["response_id"] == first_id]
    matched = next(i for i, d in enumerate(deltas) if "password" in d)
    assert tripped.message == "".join(deltas[:matched + 1])  # checked on the delta that completed the match
    interrupted = got[trip_at + 1]
    assert (interrupted.item_id, interrupted.content_index) == (item_id, 0)

    # The wire: cancel, truncate at what was played, tell the model, ask again.
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "response.cancel", "conversation.item.truncate",
                               "conversation.item.create", "response.create"]
    cancel, truncate, told, again = sim.received[3:]
    assert cancel == {"type": "response.cancel", "response_id": first_id,
                      "event_id": "rtg_response_cancel_1"}
    played_ms = truncate["audio_end_ms"]
    assert truncate == {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                        "audio_end_ms": played_ms}
    assert offending_ms - 300 <= played_ms <= delivered_ms <= offending_ms  # clamped to audio received
    assert told["item"] == {"type": "message", "role": "user",
                            "content": [{"type": "input_text", "text": "guardrail triggered: no_secrets"}]}
    assert again == {"type": "response.create", "event_id": "rtg_response_create_2"}
    assert sim.emitted_of("conversation.item.truncated")[0]["audio_end_ms"] == played_ms
    assert sim.emitted_of("error") == []

    # The measurement: words of the offending sentence played at or after the offending word.
    heard = [i for i, start in enumerate(offsets) if start < max(played_ms, delivered_ms)]
    played_after_trip = [TEXT.split(" ")[i] for i in heard if i >= OFFENDING]
    assert played_after_trip == [], f"heard after the trip: {played_after_trip}"
    assert len(heard) == OFFENDING  # and everything before it was heard (the cut is not early)


TAIL_CODE = """
SEEN = []

def no_refunds(text, context):
    SEEN.append(text)
    return "refund" in text
"""

TAIL_GRAPH = one_agent(agent_extra="""output_guardrails:
  - {entrypoint: "{mod}:no_refunds"}
""")


async def test_short_answer_is_checked_at_the_end(load_graph) -> None:
    graph, mod = load_graph(TAIL_GRAPH, TAIL_CODE)
    assert graph.run.guardrail_debounce_text_length == 100
    transport, sim = simulator("""
    - actions:
        - say: {text: "Sure, a full refund is fine.", modality: text}
        - delay_ms: 300        # the response is still open when the tail check trips
    - actions:
        - say: {text: "Let me check the policy first.", modality: text}
    """)
    async with Runner(graph, transport=transport).run() as session:
        await session.send_message("can I get a refund")
        got = await until_ends(session, 2)
        await session.wait_idle()

    first_id = sim.emitted_of("response.created")[0]["response"]["id"]
    assert mod.SEEN[0] == "Sure, a full refund is fine."  # one check, on the complete text
    assert kinds(got) == ["agent_start", "guardrail_tripped", "agent_end", "agent_start", "agent_end"]
    tripped = next(e for e in got if e.type == "guardrail_tripped")
    name = f"{mod.__name__}:no_refunds"  # an entrypoint guardrail is named by its entrypoint
    assert (tripped.message, tripped.guardrail_results[0].guardrail) == ("Sure, a full refund is fine.", name)
    assert wire_types(sim) == ["session.update", "conversation.item.create", "response.create",
                               "response.cancel", "conversation.item.create", "response.create"]
    assert sim.received[3] == {"type": "response.cancel", "response_id": first_id,
                               "event_id": "rtg_response_cancel_1"}
    assert sim.received[4]["item"]["content"] == [{"type": "input_text", "text": f"guardrail triggered: {name}"}]
    assert sim.emitted_of("response.done")[0]["response"]["status"] == "cancelled"
    assert sim.emitted_of("error") == []
