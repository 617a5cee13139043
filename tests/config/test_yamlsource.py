"""Safe YAML reading: positions per JSON path, core tags only, bounded size and aliases."""

from __future__ import annotations

import time

from realtime_graph.config.issues import IssueSink
from realtime_graph.config.yamlsource import MAX_FILE_BYTES, parse_documents


def parse(text: str) -> tuple[list, IssueSink]:
    sink = IssueSink()
    return parse_documents(text, "f.yaml", sink), sink


def test_values_and_keys_keep_their_positions() -> None:
    docs, sink = parse("kind: agent\ntools:\n  - entrypoint: m:f\n    name: x\n")
    assert not sink.issues
    doc = docs[0]
    assert doc.data == {"kind": "agent", "tools": [{"entrypoint": "m:f", "name": "x"}]}
    assert doc.locate(("tools", 0, "name")) == (4, 11)
    assert doc.locate(("tools", 0, "name"), key=True) == (4, 5)
    assert doc.locate(("tools", 0, "missing")) == (3, 5)  # nearest located ancestor


def test_multiple_documents_are_indexed_and_empty_ones_skipped() -> None:
    docs, _ = parse("a: 1\n---\n---\nb: 2\n")
    assert [(d.index, d.data) for d in docs] == [(0, {"a": 1}), (1, {"b": 2})]
    assert docs[1].locate(("b",)) == (4, 4)


def test_timestamps_stay_strings_and_keys_are_source_text() -> None:
    docs, _ = parse("when: 2024-01-01\non: yes\n1: x\n")
    assert docs[0].data == {"when": "2024-01-01", "on": True, "1": "x"}


def test_merge_keys_work_and_explicit_keys_win() -> None:
    docs, sink = parse("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert not sink.issues
    assert docs[0].data["item"] == {"y": 3, "x": 1}


def test_python_tags_are_refused_at_their_location() -> None:
    _, sink = parse("a: 1\nb: !!python/name:os.system\n")
    (issue,) = sink.issues
    assert (issue.code, issue.line, issue.column) == ("RG104", 2, 4)


def test_duplicate_keys_point_at_the_second_key() -> None:
    _, sink = parse("a: 1\nb: 2\na: 3\n")
    (issue,) = sink.issues
    assert (issue.code, issue.message, issue.line, issue.column) == ("RG105", "duplicate key 'a'", 3, 1)


def test_billion_laughs_fails_fast_and_located() -> None:
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        levels.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 10) + "]")
    started = time.perf_counter()
    docs, sink = parse("\n".join(levels) + "\n")
    assert time.perf_counter() - started < 1.0
    assert docs == []
    (issue,) = sink.issues
    assert issue.code == "RG103" and issue.file == "f.yaml" and issue.line is not None


def test_small_anchor_reuse_is_fine() -> None:
    docs, sink = parse("t: &t {entrypoint: m:f}\ntools: [*t, *t]\n")
    assert not sink.issues and docs[0].data["tools"] == [{"entrypoint": "m:f"}] * 2


def test_recursive_alias_is_an_error() -> None:
    _, sink = parse("a: &a [1, *a]\n")
    assert [i.code for i in sink.issues] == ["RG103"]


def test_size_limit_counts_bytes_not_characters() -> None:
    from realtime_graph.config import render_issues, validate_string

    text = "a: " + "é" * (MAX_FILE_BYTES // 2) + "\n"  # fewer characters than the limit, more bytes
    assert len(text) < MAX_FILE_BYTES < len(text.encode())
    report = validate_string(text, filename="t.yaml")
    assert render_issues(report.issues) == (
        "t.yaml:1:1: error RG102: file is larger than 1024 KiB\n"
        "  hint: split the definitions over several files\n"
        "1 error, 0 warnings")


def test_oversized_file_in_folder_is_refused(tmp_path) -> None:
    from realtime_graph.config import validate

    (tmp_path / "big.yaml").write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    report = validate(tmp_path)
    assert [(i.code, i.file) for i in report.errors] == [("RG102", str(tmp_path / "big.yaml"))]


def test_file_that_is_not_utf8_is_located_at_the_bad_line(tmp_path, monkeypatch) -> None:
    from realtime_graph.config import render_issues, validate

    (tmp_path / "agent.yaml").write_bytes(b"kind: agent\nname: caf\xe9\n")  # Latin-1, not UTF-8
    (tmp_path / "graph.yaml").write_text("kind: graph\nstart: a\n")
    monkeypatch.chdir(tmp_path)
    report = validate(".")
    assert render_issues(report.issues) == "agent.yaml:2:1: error RG101: file is not valid UTF-8\n1 error, 0 warnings"


def test_syntax_error_is_located_without_echoing_the_line() -> None:
    _, sink = parse("api_key: sk-SECRET\nfoo: [1, 2\n")
    (issue,) = sink.issues
    assert issue.code == "RG101" and issue.line == 3
    assert "SECRET" not in issue.message


def test_block_scalar_content_column_is_recorded() -> None:
    docs, _ = parse("instructions: |\n    Hello {{ x }}\n")
    assert docs[0].block_scalars == {("instructions",): 5}
