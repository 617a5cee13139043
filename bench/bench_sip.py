"""SIP call setup latency through the real ``rtgraph serve`` stack, on loopback.

    python bench/bench_sip.py                  # 50 calls, one after another
    python bench/bench_sip.py --calls 200

One process holds three real servers: the server under test (``ServeHost``: uvicorn, the SIP
channel, the runtime), the fake Calls API (h11) and the simulator (websockets) sharing a
CallBook, so an accepted call's sideband session starts with the accepted configuration. Per call:

- webhook → accept: the signed ``realtime.call.incoming`` POST leaves this process → the fake
  Calls API has parsed the ``/accept`` request (verify, dedupe, route, build the session object,
  HTTP round trip).
- accept → first session.update: the accept request parsed → the simulator has parsed the first
  ``session.update`` on the sideband ``?call_id=`` socket (answer the accept, open the WebSocket,
  the runtime's initial update). ``accept_answered_to_update`` starts once the fake has validated
  the body against the openai types (its own cost, which the real API has too, but not ours).
- webhook → greeting: → the greeting's ``response.create`` parsed on the sideband (the graph has
  a ``greeting:``); webhook → first audio: → the simulated model's first audio delta (it answers
  at once, so this is our part of webhook-to-first-audio; the real model adds its own latency).

Each call is hung up through the Calls API before the next (the sideband closes). Reports
median and p99 (nearest rank) in milliseconds, and the machine's 1-minute load average.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOLDER = ROOT / "tests" / "serve" / "sip_phone"
SECRET = "whsec_" + "YmVuY2gtc2lwLXNlY3JldA=="


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def bench(calls: int) -> dict[str, list[float]]:
    import json

    import httpx2

    from realtime_graph.config import load
    from realtime_graph.serve import ServeHost, ServeOptions
    from realtime_graph.telephony import webhook_headers
    from realtime_graph.telephony.fakes import FakeCallsApi
    from realtime_graph.transports import OpenAITransport, Simulator
    from realtime_graph.transports.simulator import CallBook

    accepted_at: dict[str, float] = {}
    answered_at: dict[str, float] = {}
    updated_at: dict[str, float] = {}
    greeted_at: dict[str, float] = {}
    audio_at: dict[str, float] = {}

    class TimedApi(FakeCallsApi):
        def handle(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
            accept = path.endswith("/accept")
            if accept:
                accepted_at[path.split("/")[-2]] = time.perf_counter()
            answer = super().handle(method, path, headers, raw)
            if accept:  # the fake's own cost (validating the body with pydantic) ends here
                answered_at[path.split("/")[-2]] = time.perf_counter()
            return answer

    class TimedSimulator(Simulator):
        def engine(self, model: str | None, call_id: str | None) -> Any:
            inner = super().engine(model, call_id)

            class Engine:
                def open(self) -> Any:
                    return inner.open()

                def receive(self, event: Any) -> Any:
                    if call_id and isinstance(event, dict):
                        seen = {"session.update": updated_at, "response.create": greeted_at}.get(event.get("type"))
                        if seen is not None:
                            seen.setdefault(call_id, time.perf_counter())
                    return inner.receive(event)

                def next_batch(self) -> Any:
                    batch = inner.next_batch()
                    if call_id and batch is not None and call_id not in audio_at and any(
                            e.get("type") == "response.output_audio.delta" for e in batch.events):
                        audio_at[call_id] = time.perf_counter()
                    return batch

            return Engine()

    os.environ.update({"SIP_TEST_WEBHOOK_SECRET": SECRET, "OPENAI_API_KEY": "sk-bench"})
    book = CallBook()
    api = TimedApi(api_key="sk-bench", calls=book)
    simulator = TimedSimulator(calls=book, script=None)
    out: dict[str, list[float]] = {"webhook_to_accept": [], "accept_to_session_update": [],
                                   "accept_answered_to_update": [], "webhook_to_greeting": [],
                                   "webhook_to_first_audio": []}
    async with api.serve() as base, simulator.serve() as sideband:
        os.environ["OPENAI_BASE_URL"] = base
        graph = load(FOLDER)
        host = ServeHost(graph, transport=OpenAITransport(url=sideband, api_key="sk-bench"),
                         options=ServeOptions(port=0, reload=False, max_sessions=calls + 1), log_stream=io.StringIO())
        async with anyio.create_task_group() as tg, httpx2.AsyncClient() as client:
            url = await tg.start(host.run)
            webhook = url + "openai/webhook"
            for i in range(calls + 1):  # the first call warms imports and connection pools
                call_id = api.add_call(sip_headers=[("From", f"sip:+1415555{i:04d}@pstn")])
                body = json.dumps(api.incoming_event(call_id)).encode()
                headers = {**webhook_headers(body, secret=SECRET, webhook_id=f"wh_{i}"),
                           "content-type": "application/json"}
                sent = time.perf_counter()
                response = await client.post(webhook, content=body, headers=headers)
                assert response.status_code == 200, response.text
                with anyio.fail_after(10):
                    while call_id not in audio_at:
                        await anyio.sleep(0.0005)
                if i:
                    out["webhook_to_accept"].append((accepted_at[call_id] - sent) * 1000)
                    out["accept_to_session_update"].append((updated_at[call_id] - accepted_at[call_id]) * 1000)
                    out["accept_answered_to_update"].append((updated_at[call_id] - answered_at[call_id]) * 1000)
                    out["webhook_to_greeting"].append((greeted_at[call_id] - sent) * 1000)
                    out["webhook_to_first_audio"].append((audio_at[call_id] - sent) * 1000)
                book.end(book.calls[call_id])  # hang up: the sideband closes, the session ends
                with anyio.fail_after(10):
                    while len(host.registry):
                        await anyio.sleep(0.001)
            host.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    results = anyio.run(bench, args.calls)
    print(f"SIP call setup, {args.calls} calls, loopback, one process (load {os.getloadavg()[0]:.2f})")
    for name, values in results.items():
        print(f"  {name:26s} median {statistics.median(values):7.2f} ms   p99 {p99(values):7.2f} ms   "
              f"min {min(values):6.2f}   max {max(values):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
