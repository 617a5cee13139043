"""Loading cassettes for replay: every bad file is a located ConfigError, never a traceback."""

from __future__ import annotations

import pytest

from realtime_graph.errors import ConfigError
from realtime_graph.transports import Simulator

HEADER = b'{"cassette": 1, "graph_version": "v1", "started_at": 0}\n'
BAD_HEADER = 'the first line must be the header {"cassette": 1, ...}'
BAD_LINE = 'each line must be {"t": ..., "dir": "client"|"server", "event": {"type": ...}}'


def issue_of(path) -> tuple:
    with pytest.raises(ConfigError) as info:
        Simulator(cassette=path)
    [issue] = info.value.issues
    assert (issue.code, issue.file) == ("cassette", str(path))
    assert issue.hint == "record cassettes with `rtgraph run --record FILE`"
    return issue.line, issue.column, issue.message


@pytest.mark.parametrize("content, line, message", [
    (HEADER + b"not json\n", 2, "not JSON: Expecting value"),
    (b'{"t": 0, "dir": "server", "event": {"type": "session.created"}}\n', 1, BAD_HEADER),
    (b'\n{"cassette": 2}\n', 2, BAD_HEADER),  # the header is the first non-blank line
    (HEADER + b'{"t": 0, "dir": "sideways", "event": {"type": "x"}}\n', 2, BAD_LINE),
    (HEADER + b'\n{"t": 0, "dir": "server", "event": {}}\n', 3, BAD_LINE),
    (HEADER + b'{"t": 0, "dir": "server", "event": {"type": "\xff"}}\n', 2, "not UTF-8 text"),
    (b"", None, "empty cassette"),
    (b"\n  \n", None, "empty cassette"),
], ids=["not-json", "no-header", "wrong-version", "bad-dir", "no-event-type", "not-utf8", "empty", "blank"])
def test_bad_cassettes_are_located(tmp_path, content, line, message) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(content)
    assert issue_of(path) == (line, 1 if line else None, message)


def test_unreadable_cassette(tmp_path) -> None:
    assert issue_of(tmp_path / "missing.jsonl") == (None, None, "cannot read cassette: No such file or directory")
    assert issue_of(tmp_path) == (None, None, "cannot read cassette: Is a directory")
    with pytest.raises(ConfigError) as info:
        Simulator(cassette=tmp_path / "missing.jsonl")
    assert str(info.value) == (f"1 error(s); first: {tmp_path / 'missing.jsonl'}: cassette: "
                               "cannot read cassette: No such file or directory")
