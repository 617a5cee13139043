"""``rtgraph run --call-id`` and ``transport.call_id: ${ENV}``: attaching a terminal session to an
accepted call on the simulator (which shares a CallBook, so unknown calls get 404 as live)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from realtime_graph.transports.simulator import CallBook, Simulator, parse_script
from tests.support.cli import rtgraph

pytestmark = pytest.mark.slow

FOLDER = Path(__file__).parents[1] / "serve" / "sip_phone"
ENV = {"SIP_TEST_WEBHOOK_SECRET": "whsec_eA==", "OPENAI_API_KEY": "sk-test"}


@contextmanager
def sideband(call_id: str = "rtc_cli") -> Iterator[str]:
    """A simulator whose only call ``call_id`` was accepted with the triage agent's instructions."""
    from anyio.from_thread import start_blocking_portal

    book = CallBook()
    book.accept(book.calls[book.add(call_id)], {"type": "realtime", "model": "gpt-realtime",
                                                "instructions": "accepted"})
    simulator = Simulator(script=parse_script("- actions: [{say: Hello from the call.}]\n"), calls=book)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(simulator.serve()) as url:
        yield url


def test_run_attaches_to_a_call_by_id() -> None:
    with sideband() as url:
        done = rtgraph(FOLDER, "--transport", "openai", "--url", url, "--call-id", "rtc_cli", "--no-reload",
                       "--sim-speed", "0", env=ENV)
    assert done.returncode == 0, done.stderr
    assert "Hello from the call." in done.stdout  # the greeting, spoken on the attached call


def test_run_with_an_unknown_call_id_fails_in_one_line() -> None:
    with sideband() as url:
        done = rtgraph(FOLDER, "--transport", "openai", "--url", url, "--call-id", "rtc_nope", "--no-reload",
                       env=ENV)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("rtgraph run: ")
    assert "404" in done.stderr and "Traceback" not in done.stderr


def test_call_id_from_an_env_reference(tmp_path: Path) -> None:
    folder = tmp_path / "phone"
    shutil.copytree(FOLDER, folder)
    graph = folder / "graph.yaml"
    graph.write_text(graph.read_text() + "transport: {call_id: '${SIP_CALL_ID}'}\n")
    with sideband("rtc_env") as url:
        done = rtgraph(folder, "--transport", "openai", "--url", url, "--no-reload", "--sim-speed", "0",
                       env={**ENV, "SIP_CALL_ID": "rtc_env"})
        unset = rtgraph(folder, "--transport", "openai", "--url", url, "--no-reload", env=ENV)
    assert done.returncode == 0, done.stderr
    assert "Hello from the call." in done.stdout
    assert unset.returncode == 1
    assert "transport.call_id needs environment variable SIP_CALL_ID; export it (or pass --call-id)" in unset.stderr


def test_run_speaks_the_greeting_before_the_first_say(tmp_path: Path) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    (folder / "graph.yaml").write_text("kind: graph\nstart: a\ngreeting: Greet the user.\n")
    (folder / "a.yaml").write_text("kind: agent\nname: a\ninstructions: You are helpful.\n")
    done = rtgraph(folder, "--transport", "simulator", "--say", "What is two plus two", "--sim-speed", "0",
                   "--no-reload")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-3:] == ["a: Hello! How can I help you today?", "you: What is two plus two",
                                             "a: You said: What is two plus two"]
