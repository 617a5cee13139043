"""`rtgraph validate`, `rtgraph schema`, `rtgraph graph` run as the real executable in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "config" / "fixtures"
_SCRIPT = Path(sys.executable).parent / "rtgraph"
RTGRAPH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "realtime_graph"]

pytestmark = pytest.mark.slow


def rtgraph(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "COMPANY_NAME")}
    return subprocess.run([*RTGRAPH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_example_folder_is_valid() -> None:
    result = rtgraph("validate", "agents.d")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "0 errors, 0 warnings"
    assert lines[1].startswith("agents.d: valid graph ") and lines[1].endswith(" (3 agents, start 'concierge')")
    assert result.stderr == ""


def test_text_output_and_exit_1() -> None:
    result = rtgraph("validate", "rg208_voice_mismatch", cwd=FIXTURES)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "rg208_voice_mismatch/main.yaml:4:12: error RG208: handoff from 'main' (voice 'marin') to 'billing' "
        "(voice 'coral') would change the voice",
        "  hint: set model_settings.audio.output.voice: marin in agent 'billing' (rg208_voice_mismatch/billing.yaml:2:7);"
        " the Realtime API refuses a voice change once audio was produced, so agents that hand off to each other must"
        " share one voice",
        "1 error, 0 warnings",
    ]


def test_json_output() -> None:
    result = rtgraph("validate", "--format", "json", "rg111_unknown_key", cwd=FIXTURES)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "issues": [{"code": "RG111", "severity": "error", "file": "rg111_unknown_key/main.yaml", "line": 4,
                    "column": 1, "path": "$.toolz", "message": "unknown key 'toolz'",
                    "hint": "did you mean 'tools'?"}],
        "errors": 1,
        "warnings": 0,
    }


def test_github_annotations() -> None:
    result = rtgraph("validate", "--format", "github", "rg111_unknown_key", cwd=FIXTURES)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "::error file=rg111_unknown_key/main.yaml,line=4,col=1,title=RG111::unknown key 'toolz'%0Ahint: did you mean 'tools'?",
        "1 error, 0 warnings",
    ]


def test_warnings_fail_only_with_strict() -> None:
    relaxed = rtgraph("validate", "rg207_unreachable", cwd=FIXTURES)
    strict = rtgraph("validate", "--strict", "rg207_unreachable", cwd=FIXTURES)
    assert (relaxed.returncode, strict.returncode) == (0, 1)
    warning = "rg207_unreachable/orphan.yaml:2:7: warning RG207: agent 'orphan' is unreachable from start agent 'main'"
    assert relaxed.stdout.splitlines()[0] == warning == strict.stdout.splitlines()[0]


@pytest.mark.parametrize("args", [("validate", "--format", "xml"), ("validate", "--bogus"), ("nosuchcommand",)])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = rtgraph(*args)
    assert result.returncode == 2
    assert "Usage:" in result.stderr


def test_missing_folder_is_a_located_error() -> None:
    result = rtgraph("validate", "no/such/folder")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "no/such/folder: error RG106: no/such/folder does not exist"


def test_import_failure_is_one_line_never_a_traceback() -> None:
    result = rtgraph("validate", "rg302_module_raises", cwd=FIXTURES)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == ("rg302_module_raises/main.yaml:5:17: error RG302: importing "
                                             "'rg302_tools' failed: RuntimeError: database URL not configured")


def test_no_import_does_not_execute_user_modules(tmp_path: Path) -> None:
    marker = tmp_path / "module-was-executed"
    (tmp_path / "side_effect_tools.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n\n\ndef ping() -> str:\n    return 'pong'\n")
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: a\n")
    (tmp_path / "a.yaml").write_text("kind: agent\nname: a\ntools:\n  - entrypoint: side_effect_tools:ping\n")
    static = rtgraph("validate", "--no-import", str(tmp_path))
    assert static.returncode == 0, static.stdout
    assert not marker.exists()
    imported = rtgraph("validate", str(tmp_path))
    assert imported.returncode == 0 and marker.exists()  # the same module does run when imported


def test_no_import_reports_missing_and_unreadable_modules(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "graph.yaml").write_text("kind: graph\nstart: a\n")
    (defs / "a.yaml").write_text("kind: agent\nname: a\ntools:\n  - entrypoint: nowhere_tools:f\n"
                                 "  - entrypoint: broken_syntax_tools:f\n")
    (defs / "broken_syntax_tools.py").write_text("def f(:\n    pass\n")
    result = rtgraph("validate", "--no-import", "defs", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        "defs/a.yaml:4:17: error RG301: module 'nowhere_tools' not found",
        "  hint: looked in defs and sys.path",
        "defs/a.yaml:5:17: error RG302: reading 'broken_syntax_tools' failed: SyntaxError: invalid syntax "
        "(broken_syntax_tools.py, line 1)",
        "2 errors, 0 warnings",
    ]


@pytest.mark.parametrize("command", ["validate", "graph"])
def test_a_bug_of_ours_is_one_line_and_exit_3(command: str) -> None:
    # the real CLI in a subprocess, with the loader replaced by one that fails unexpectedly
    script = ("import realtime_graph.config as config\n"
              "def broken(*args, **kwargs):\n    raise RuntimeError('loader exploded')\n"
              "config.validate = broken\n"
              "from realtime_graph.cli import main\n"
              f"main([{command!r}, 'agents.d'])\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == f"rtgraph {command}: internal error: RuntimeError: loader exploded (please report this)\n"


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_literal_secrets_never_appear_in_output(fmt: str) -> None:
    result = rtgraph("validate", "--format", fmt, "rg503_literal_secret", cwd=FIXTURES)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("RG503") == 2
    assert "sk-live-abc123SECRET" not in output and "tok-SECRET-456" not in output


def test_schema_command_prints_the_schemas() -> None:
    combined = json.loads(rtgraph("schema").stdout)
    assert combined == json.loads((ROOT / "schemas" / "rtgraph.schema.json").read_text())
    agent = json.loads(rtgraph("schema", "--kind", "agent").stdout)
    assert agent["$ref"] == "#/$defs/agent" and agent["$defs"] == combined["$defs"]


def test_graph_command_prints_mermaid() -> None:
    result = rtgraph("graph", "agents.d")
    assert result.returncode == 0
    assert result.stdout == (
        "flowchart LR\n"
        '    a0["booking"]\n'
        '    a1["concierge (start)"]:::start\n'
        '    a2["weather"]\n'
        '    a0 -- "transfer_to_concierge" --> a1\n'
        '    a1 -- "transfer_to_weather" --> a2\n'
        '    a1 -- "transfer_to_booking" --> a0\n'
        '    a2 -- "transfer_to_concierge" --> a1\n'
        "    classDef start stroke-width:3px\n"
    )


def test_graph_command_on_invalid_folder_reports_issues() -> None:
    result = rtgraph("graph", "rg204_unknown_start", cwd=FIXTURES)
    assert result.returncode == 1 and result.stdout == ""
    assert "error RG204: start agent 'mian' is not defined" in result.stderr
