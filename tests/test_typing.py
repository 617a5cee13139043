"""``py.typed`` means something: a user's code type-checks against the public names under
``mypy --strict``, and a misspelt name or a wrong argument is an error for the type checker."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

pytestmark = pytest.mark.slow

USER_CODE = '''\
from realtime_graph import GuardrailResult, Runner, Session, load
from realtime_graph.transports import Simulator, SimulatorTransport


async def main() -> str:
    graph = load("agents.d")
    runner = Runner(graph, transport=SimulatorTransport(Simulator()))
    async with runner.run(context={"company": "Acme"}) as session:
        await session.send_message("hi")
        await session.wait_idle()
        return session.current_agent.name


def verdict(text: str) -> GuardrailResult:
    return GuardrailResult(tripwire_triggered="banana" in text)


def takes(session: Session) -> None:
    reveal_type(session.current_agent)
'''


def _mypy(tmp_path: Path, code: str) -> tuple[str, int]:
    module = tmp_path / "user_code.py"
    module.write_text(textwrap.dedent(code), encoding="utf-8")
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy_cache"),
                                "--follow-imports", "silent", "--config-file", "", str(module)])
    return out + err, status


def test_user_code_type_checks_against_the_public_api(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, USER_CODE)
    assert status == 0, out
    assert 'Revealed type is "realtime_graph.graph.model.Agent"' in out


def test_misspelt_export_and_wrong_argument_are_type_errors(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, '''\
        import realtime_graph
        from realtime_graph.transports import SimulatorTransport

        realtime_graph.Runnr
        realtime_graph.load(42)
        SimulatorTransport(simulator="x")
    ''')
    assert status == 1
    assert 'Module has no attribute "Runnr"; maybe "Runner"?' in out
    assert 'Argument 1 to "load" has incompatible type "int"' in out
    assert 'Argument "simulator" to "SimulatorTransport" has incompatible type "str"' in out
