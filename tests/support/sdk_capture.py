"""The first ``session.update`` a real SDK ``RealtimeSession`` and a session of ours send to the
simulator, and the normalisation that makes the two comparable (docs/migration.md lists it)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from realtime_graph.transports import Simulator

__all__ = ("RecordingSimulator", "normalise_session", "session_updates")


class _RecordingEngine:
    def __init__(self, inner: Any, log: list[dict[str, Any]]) -> None:
        self.inner, self.log = inner, log

    def open(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.inner.open()
        return result

    def receive(self, event: Any) -> list[dict[str, Any]]:
        if isinstance(event, dict):
            self.log.append(event)
        result: list[dict[str, Any]] = self.inner.receive(event)
        return result

    def next_batch(self) -> Any:
        return self.inner.next_batch()


class RecordingSimulator(Simulator):
    """The default simulator, recording every client event it receives (all connections)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []

    def engine(self, model: str | None, call_id: str | None) -> Any:
        return _RecordingEngine(super().engine(model, call_id), self.received)


def _agent_updates(log: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    # the SDK's extra tracing-only update after session.created carries no instructions
    return [e for e in log[start:] if e.get("type") == "session.update" and "instructions" in e.get("session", {})]


async def _nth_update(log: list[dict[str, Any]], start: int, n: int) -> dict[str, Any]:
    with anyio.fail_after(10):
        while len(updates := _agent_updates(log, start)) < n:
            await anyio.sleep(0.01)
        return updates[n - 1]


async def _sdk_updates(url: str, log: list[dict[str, Any]], agents: list[Any], run_config: Mapping[str, Any] | None,
                       initial_model_settings: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    from agents.realtime import RealtimeRunner

    start = len(log)
    runner = RealtimeRunner(agents[0], config=dict(run_config) if run_config is not None else None)
    model_config: dict[str, Any] = {"url": f"{url}?model=gpt-realtime", "api_key": "sk-test"}
    if initial_model_settings is not None:
        model_config["initial_model_settings"] = dict(initial_model_settings)
    session = await runner.run(model_config=model_config)  # type: ignore[arg-type]
    async with session:
        updates = [await _nth_update(log, start, 1)]
        for n, agent in enumerate(agents[1:], start=2):
            await session.update_agent(agent)
            updates.append(await _nth_update(log, start, n))
        return updates


async def _our_updates(url: str, log: list[dict[str, Any]], folder: Path, names: list[str]) -> list[dict[str, Any]]:
    from realtime_graph.config import load
    from realtime_graph.runtime import Runner
    from realtime_graph.transports import OpenAITransport

    start = len(log)
    runner = Runner(load(folder), transport=OpenAITransport(url=url, api_key="sk-test"))
    async with runner.run() as session:
        updates = [await _nth_update(log, start, 1)]
        for n, name in enumerate(names[1:], start=2):
            await session.update_agent(name)
            updates.append(await _nth_update(log, start, n))
        return updates


def session_updates(agents: list[Any], folder: Path, *, run_config: Mapping[str, Any] | None = None,
                    initial_model_settings: Mapping[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(sdk, ours)``: the first ``session.update`` each side sends for ``agents[0]``, then the one
    ``update_agent`` sends for each further agent (the SDK's agent objects, our agents by the same
    name), one simulator for both."""
    simulator = RecordingSimulator()

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with simulator.serve() as url:
            sdk = await _sdk_updates(url, simulator.received, agents, run_config, initial_model_settings)
            ours = await _our_updates(url, simulator.received, folder, [a.name for a in agents])
            return sdk, ours

    return anyio.run(main)


def _strip_descriptions(tools: list[Any]) -> list[Any]:
    out = []
    for tool in tools:
        tool = dict(tool)
        if isinstance(tool.get("description"), str):
            tool["description"] = tool["description"].strip()
        params = tool.get("parameters")
        if isinstance(params, dict) and params.get("required") == [] and not params.get("properties"):
            params = {k: v for k, v in params.items() if k != "required"}
            tool["parameters"] = params
        out.append(tool)
    return sorted(out, key=lambda t: str(t.get("name")))


def normalise_session(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``session`` of a ``session.update`` with the documented differences taken out.

    - ``model``: the SDK repeats it in the session; rtgraph names it in the connect URL only.
    - ``tracing``: the SDK sends it in a second update after ``session.created``; rtgraph in the first.
    - tool order and descriptions' surrounding whitespace (the SDK's default handoff description
      ends with a space when the target has no ``handoff_description``; rtgraph strips it).
    - an empty ``required: []`` in a parameterless handoff schema (the SDK's strict-schema pass adds it).
    - ``null`` for unset prompt fields (the SDK sends ``"version": null``; rtgraph leaves the key out).
    """
    session = copy.deepcopy(dict(event["session"]))
    session.pop("model", None)
    session.pop("tracing", None)
    session["tools"] = _strip_descriptions(session.get("tools") or [])
    if isinstance(session.get("prompt"), dict):
        session["prompt"] = {k: v for k, v in session["prompt"].items() if v is not None}
    return session
