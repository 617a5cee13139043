"""The real ``rtgraph import`` command in a subprocess: output, refusals, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = '''
from agents import function_tool
from agents.realtime import RealtimeAgent

helper = RealtimeAgent(name="Helper", instructions="Help with {{ braces }}.")
front = RealtimeAgent(
    name="Front",
    instructions=lambda ctx, agent: "dynamic",
    tools=[function_tool(lambda city: city, name_override="lookup")],
    handoffs=[helper],
)
NOT_AN_AGENT = {"voice": "marin"}
'''


def rtgraph(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "realtime_graph", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "rtg_cli_app.py").write_text(APP, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_notes_are_printed_and_written_and_the_folder_is_validated(app: Path) -> None:
    result = rtgraph(app, "import", "rtg_cli_app:front", "-o", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["wrote out/front.yaml", "wrote out/helper.yaml", "wrote out/graph.yaml"]
    assert lines[3:5] == [
        "note: front.yaml: instructions callable <lambda>: not a module attribute (a lambda or a local "
        "function?); define it at module level and import again",
        "note: front.yaml: tool 'lookup': not a module attribute (built inline?); assign the FunctionTool to a "
        "module-level name and import again",
    ]
    assert lines[5].startswith("out: valid graph ") and lines[5].endswith("(2 agents, start 'Front')")
    assert len(lines) == 6
    front = (app / "out" / "front.yaml").read_text()
    assert front == (
        "# Written by `rtgraph import rtg_cli_app:front`.\n"
        "# NOT carried over (no YAML form in rtgraph, or no module-level name to point at):\n"
        "#   - instructions callable <lambda>: not a module attribute (a lambda or a local function?); define "
        "it at module level and import again\n"
        "#   - tool 'lookup': not a module attribute (built inline?); assign the FunctionTool to a module-level "
        "name and import again\n"
        "kind: agent\n"
        "name: Front\n"
        "handoffs:\n"
        "- agent: Helper\n"
    )
    assert "instructions: Help with {{ '{{' }} braces }}.\n" in (app / "out" / "helper.yaml").read_text()


@pytest.mark.slow
def test_a_non_empty_folder_needs_force(app: Path) -> None:
    (app / "out").mkdir()
    (app / "out" / "keep.yaml").write_text("mine\n")
    (app / "out" / "old_agent.yaml").write_text("# Written by `rtgraph import rtg_cli_app:front`.\nkind: agent\n")
    refused = rtgraph(app, "import", "rtg_cli_app:front", "-o", "out")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "rtgraph import: out is not empty; choose another folder with -o or pass --force to overwrite\n"
    assert sorted(p.name for p in (app / "out").iterdir()) == ["keep.yaml", "old_agent.yaml"]

    forced = rtgraph(app, "import", "rtg_cli_app:front", "-o", "out", "--force")
    assert sorted(p.name for p in (app / "out").iterdir()) == ["front.yaml", "graph.yaml", "helper.yaml", "keep.yaml"]
    # a file an earlier import wrote is replaced or removed; keep.yaml is not ours: validation
    # reports it, and the exit status says so
    assert forced.returncode == 1
    assert "out/keep.yaml:1:1: error RG113" in forced.stdout
    assert forced.stdout.startswith("removed out/old_agent.yaml (an earlier import's file)\nwrote out/front.yaml\n")


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (["rtg_nothing:agent"], "rtgraph import: module 'rtg_nothing' not found (looked in {cwd} and sys.path; run "
                            "from the folder that holds it or set PYTHONPATH)"),
    (["rtg_cli_app:NOT_AN_AGENT"], "rtgraph import: rtg_cli_app:NOT_AN_AGENT is a dict, not an "
                                   "agents.realtime.RealtimeAgent"),
])  # the other messages are checked in-process (test_translation.py)
def test_bad_targets_are_one_line_errors(app: Path, args: list[str], message: str) -> None:
    result = rtgraph(app, "import", *args, "-o", "out")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == message.format(cwd=app) + "\n"
    assert not (app / "out").exists()


def test_importing_the_package_imports_neither_the_sdk_nor_yaml() -> None:
    code = ("import sys, realtime_graph.sdk_import, realtime_graph.cli.import_command; "
            "print(sorted(m for m in ('agents', 'yaml', 'jsonschema') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout == "[]\n", result.stderr
