"""``rtgraph import`` round trip: SDK app → YAML folder → the same ``session.update`` content.

For each SDK-style example (tests/sdk_import/examples.py) the real command writes a folder, the
folder validates, and a real SDK ``RealtimeSession`` and a session of ours, both against the
simulator on loopback, send the same first ``session.update``, and the same update when switched
to each further agent with ``update_agent`` (normalised as documented in
tests/support/sdk_capture.py and docs/migration.md).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime_graph.config import render_issues, validate
from realtime_graph.sdk_import.sdk_lookup import closure_values
from tests.sdk_import.examples import EXAMPLES
from tests.support.sdk_capture import normalise_session, session_updates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def modules_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example apps as importable modules, for the command (its cwd) and for this process."""
    folder = tmp_path_factory.mktemp("sdk_apps")
    for example in EXAMPLES.values():
        (folder / f"{example.module}.py").write_text(example.source, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for example in EXAMPLES.values():
        sys.modules.pop(example.module, None)


def rtgraph_import(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "realtime_graph", "import", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def imported(modules_dir: Path, tmp_path: Path, name: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    example = EXAMPLES[name]
    out = tmp_path / "agents.d"
    result = rtgraph_import(modules_dir, f"{example.module}:{example.agent}",
                            "--run-config", f"{example.module}:{example.settings}", "-o", str(out))
    return out, result


def sdk_side(name: str) -> tuple[Any, dict[str, Any]]:
    """The agent object and the keyword arguments that start the SDK session as the app does."""
    example = EXAMPLES[name]
    module = importlib.import_module(example.module)
    settings = getattr(module, example.settings)
    if example.settings_kind == "run_config":
        return getattr(module, example.agent), {"run_config": settings}
    if example.settings_kind == "model_config":
        return getattr(module, example.agent), {"initial_model_settings": settings["initial_model_settings"]}
    return getattr(module, example.agent), {"initial_model_settings": settings}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_imported_folder_validates_and_sends_what_the_sdk_sends(name: str, modules_dir: Path,
                                                                 tmp_path: Path) -> None:
    out, result = imported(modules_dir, tmp_path, name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith(f"{out}: valid graph ")

    report = validate(out)
    assert report.errors == (), render_issues(report.issues)

    agent, kwargs = sdk_side(name)
    agents = reachable(agent)
    sdk_updates, our_updates = session_updates(agents, out, **kwargs)
    assert len(sdk_updates) == len(our_updates) == len(agents)
    for sdk_agent, sdk, ours in zip(agents, sdk_updates, our_updates, strict=True):
        sdk_session, our_session = normalise_session(sdk), normalise_session(ours)
        # field by field first, so a failure names what differs
        assert our_session.get("instructions") == sdk_session.get("instructions"), sdk_agent.name
        assert our_session["tools"] == sdk_session["tools"], sdk_agent.name
        assert our_session.get("audio") == sdk_session.get("audio"), sdk_agent.name
        assert our_session.get("output_modalities") == sdk_session.get("output_modalities"), sdk_agent.name
        assert our_session == sdk_session, sdk_agent.name


def reachable(start: Any) -> list[Any]:
    from agents.realtime import RealtimeAgent

    seen, todo = [start], [start]
    while todo:
        for item in todo.pop().handoffs:
            target = item if isinstance(item, RealtimeAgent) else closure_values(item.on_invoke_handoff)["agent"]
            if all(target is not s for s in seen):
                seen.append(target)
                todo.append(target)
    return seen


@pytest.mark.slow
def test_sip_example_files_are_written_as_documented(modules_dir: Path, tmp_path: Path) -> None:
    out, result = imported(modules_dir, tmp_path, "twilio_sip")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["faq_agent.yaml", "graph.yaml", "records_agent.yaml",
                                                     "triage_agent.yaml"]
    source = "rtg_sdk_sip:triage_agent --run-config rtg_sdk_sip:SESSION_SETTINGS"
    assert (out / "graph.yaml").read_text() == (
        f"# Written by `rtgraph import {source}`.\n"
        "kind: graph\n"
        "start: Triage Agent\n"
        "model_settings:\n"
        "  audio:\n"
        "    input:\n"
        "      turn_detection:\n"
        "        type: semantic_vad\n"
        "        interrupt_response: true\n"
        "    output:\n"
        "      voice: marin\n"
        "imports:\n"
        "  allow:\n"
        "  - rtg_sdk_sip\n"
    )
    triage = (out / "triage_agent.yaml").read_text()
    assert triage.endswith(
        "handoffs:\n"
        "- agent: FAQ Agent\n"
        "- agent: Records Agent\n"
        "  on_handoff: rtg_sdk_sip:log_transfer\n"
    )
    # literal Jinja syntax in an SDK string is escaped, so the template renders it back unchanged
    records = (out / "records_agent.yaml").read_text()
    assert ("instructions: |-\n"
            "  Read record ids such as {{ '{{' }}RECORD-1}} or {{ '{%' }} batch %} exactly as written.\n"
            "  {{ '{#' }} not a comment #}\n") in records
