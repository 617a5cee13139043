"""``rtgraph serve`` as a real subprocess: the first line, refusals, JSON logs, drain on real signals."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.serving import EXAMPLE, ServeProcess, browser

pytestmark = [pytest.mark.slow]


def _serve(*args: str, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "realtime_graph", "serve", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _ready(url: str) -> httpx.Response:
    return httpx.get(url + "readyz", timeout=5)


def test_first_line_is_the_url_and_the_simulator_notice_goes_to_stderr() -> None:
    with ServeProcess("agents.d", "--sim-speed", "0", "--no-reload", cwd=EXAMPLE.parent) as proc:
        assert proc.stdout[0] == proc.first_line
        assert proc.first_line.startswith("rtgraph: serving agents.d on http://127.0.0.1:")
        port = int(proc.first_line.rsplit(":", 1)[1].rstrip("/"))
        assert proc.first_line == f"rtgraph: serving agents.d on http://127.0.0.1:{port}/" and port > 0
        proc.wait_for("running on the built-in simulator")
        assert _ready(proc.url).json()["status"] == "ready"
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0


def test_a_public_bind_without_a_token_refuses_to_start() -> None:
    result = _serve(str(EXAMPLE), "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        'rtgraph serve: refusing to serve on 0.0.0.0 without a token: anyone who can reach it could talk to the '
        'agents; add `serve: {auth: {token: "${RTGRAPH_TOKEN}"}}` to the graph file and export RTGRAPH_TOKEN '
        '(or bind --host 127.0.0.1)')


def test_a_literal_token_in_the_graph_file_is_a_located_error(tmp_path: Path) -> None:
    folder = tmp_path / "agents.d"
    shutil.copytree(EXAMPLE, folder)
    graph = folder / "graph.yaml"
    graph.write_text(graph.read_text() + "\nserve:\n  auth:\n    token: hunter2\n")
    line = graph.read_text().splitlines().index("    token: hunter2") + 1
    result = _serve(str(folder), "--port", "0")
    assert result.returncode == 1
    assert f"graph.yaml:{line}:12: error RG503: serve.auth.token must be an ${{ENV}} reference, not a literal token" \
        in result.stderr
    assert "hunter2" not in result.stderr


def test_token_env_reference_unset_is_named(tmp_path: Path) -> None:
    result = _serve(str(EXAMPLE), "--port", "0", "--token-env", "NOT_SET_ANYWHERE_42")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == \
        "rtgraph serve: --token-env NOT_SET_ANYWHERE_42: environment variable NOT_SET_ANYWHERE_42 is not set"


@pytest.mark.anyio
async def test_public_bind_with_a_token_and_json_logs_without_secrets(tmp_path: Path) -> None:
    folder = tmp_path / "agents.d"
    shutil.copytree(EXAMPLE, folder)
    graph = folder / "graph.yaml"
    graph.write_text(graph.read_text() + '\nserve:\n  auth:\n    token: "${MY_SERVE_TOKEN}"\n')
    token = "tok-" + "x" * 20
    with ServeProcess(folder, "--host", "0.0.0.0", "--sim-speed", "0", "--log-format", "json", "--no-reload",
                      env={"MY_SERVE_TOKEN": token}) as proc:
        assert proc.first_line.startswith(f"rtgraph: serving {folder} on http://0.0.0.0:")
        local = proc.url.replace("0.0.0.0", "127.0.0.1")
        async with browser(local, token=token) as b:
            session_id = (await b.until("session"))["session_id"]
            await b.send("text", text="hi")
            await b.until("audio_end")
        ended = await anyio.to_thread.run_sync(proc.wait_for, '"session ended"')
        proc.signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(proc.wait) == 0
    records = [json.loads(line) for line in proc.stderr if line.startswith("{")]
    started = next(r for r in records if r["event"] == "session started")
    assert {k: started[k] for k in ("id", "channel", "agent")} == {"id": session_id, "channel": "browser",
                                                                    "agent": "concierge"}
    end = json.loads(ended)
    assert (end["id"], end["channel"], end["agent"], end["outcome"]) == (session_id, "browser", "concierge",
                                                                          "client_closed")
    assert [r["event"] for r in records][-3:] == ["signal", "draining", "drained"]
    assert token not in "\n".join(proc.stdout + proc.stderr)


@pytest.mark.anyio
async def test_sigterm_drains_live_sessions_then_closes_them_with_1001_and_exits_0() -> None:
    with ServeProcess(EXAMPLE, "--sim-speed", "0", "--no-reload", "--drain-timeout", "1.5") as proc:
        url = proc.url
        async with browser(url) as live:
            await live.until("session")
            proc.signal(signal.SIGTERM)
            with anyio.fail_after(5):  # readyz turns 503 at once
                while (response := await anyio.to_thread.run_sync(_ready, url)).status_code == 200:
                    await anyio.sleep(0.01)
            assert (response.status_code, response.json()["reason"]) == (503, "draining")
            async with browser(url) as late:
                await late.ws.wait_closed()
                assert (late.ws.close_code, late.ws.close_reason) == (1013, "try again later (server is draining)")
            await live.send("text", text="still talking during the drain")  # live sessions go on
            reply = await live.until("transcript", role="assistant", final=True)
            assert reply["text"] == "You said: still talking during the drain"
            started = time.monotonic()
            closing = await live.until("closing", timeout=10)
            assert closing == {"type": "closing", "reason": "draining"}
            await live.ws.wait_closed()
            assert (live.ws.close_code, live.ws.close_reason) == (1001, "draining")
            assert time.monotonic() - started < 3
        assert await anyio.to_thread.run_sync(proc.wait) == 0
    log = "\n".join(proc.stderr)
    assert "rtgraph: signal signal=SIGTERM" in log and "rtgraph: draining sessions=1 timeout=1.5s" in log
    assert "rtgraph: drain timeout sessions=1" in log and "outcome=drained" in log
    assert proc.stderr[-1] == "rtgraph: drained all sessions ended; exiting"


@pytest.mark.anyio
async def test_drain_ends_as_soon_as_the_last_session_leaves() -> None:
    with ServeProcess(EXAMPLE, "--sim-speed", "0", "--no-reload", "--drain-timeout", "60") as proc:
        async with browser(proc.url) as live:
            await live.until("session")
            proc.signal(signal.SIGTERM)
            await anyio.to_thread.run_sync(proc.wait_for, "rtgraph: draining")
        started = time.monotonic()
        assert await anyio.to_thread.run_sync(proc.wait) == 0
        assert time.monotonic() - started < 10  # not the 60 s drain timeout
    assert "outcome=client_closed" in "\n".join(proc.stderr)


@pytest.mark.anyio
async def test_a_second_signal_exits_at_once() -> None:
    with ServeProcess(EXAMPLE, "--sim-speed", "0", "--no-reload", "--drain-timeout", "60") as proc:
        async with browser(proc.url) as live:
            await live.until("session")
            proc.signal(signal.SIGTERM)
            await anyio.to_thread.run_sync(proc.wait_for, "rtgraph: draining")
            proc.signal(signal.SIGINT)
            started = time.monotonic()
            assert await anyio.to_thread.run_sync(proc.wait) == 130
            assert time.monotonic() - started < 5
    assert "rtgraph: exiting second signal: exiting without waiting for sessions" in proc.stderr
