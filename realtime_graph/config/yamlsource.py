"""Safe YAML reading that remembers where every value came from.

We compose with PyYAML's safe composer (libyaml when available) and build plain JSON-shaped
values ourselves, so each value keeps its line/column under its JSON path. Only YAML
core-schema tags are accepted; timestamps stay strings; mapping keys are always their source
text. File size and alias expansion are bounded so hostile files fail fast, located.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..graph.model import SourceLocation
from .issues import IssueSink

__all__ = (
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "Document",
    "JsonPath",
    "parse_definition",
    "parse_documents",
    "plain_document",
)

JsonPath = tuple[str | int, ...]

MAX_FILE_BYTES = 1 << 20
"""Definition files larger than this many bytes (1 MiB) are refused."""
MAX_ALIAS_NODES = 10_000
"""How many values one file may build through alias references before we refuse it."""
MAX_DEPTH = 64
"""How deeply lists and mappings may nest (RG108): deeper data is refused, located."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_BLOCK_STYLES = ("|", ">")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class Document:
    """One YAML document: its data plus the 1-based (line, column) of every value and key."""

    file: str
    index: int
    data: Any
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    block_scalars: dict[JsonPath, int] = field(default_factory=dict)
    """Block scalars (``|``/``>``): path -> 1-based column of their first content line."""

    def locate(self, path: JsonPath, *, key: bool = False) -> tuple[int | None, int | None]:
        """Location of ``path`` (its key when ``key``), else of the nearest located ancestor."""
        marks = self.keys if key else self.values
        if path in marks:
            return marks[path]
        for n in range(len(path), -1, -1):
            where = self.values.get(path[:n])
            if where is not None:
                return where
        return (None, None)

    def source_location(self, path: JsonPath) -> SourceLocation | None:
        """:meth:`locate` as a :class:`SourceLocation`; None for documents without marks (``load_dict``)."""
        line, column = self.locate(path)
        return SourceLocation(self.file, line, column) if line is not None and column is not None else None


def plain_document(data: Any, index: int, file: str) -> Document:
    """A document built from already-parsed data (``load_dict``): no locations."""
    return Document(file=file, index=index, data=data)


class _Refused(Exception):
    def __init__(self, code: str, message: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.mark, self.hint = code, message, mark, hint


class _Builder:
    """Turns composed nodes into values, recording marks and bounding alias expansion."""

    def __init__(self, doc: Document, lines: list[str]) -> None:
        import yaml

        self.doc = doc
        self.lines = lines
        self.constructor = yaml.constructor.SafeConstructor()
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.alias_nodes = 0
        self.yaml = yaml

    def build(self, node: Any, path: JsonPath, via_alias: bool) -> Any:
        if len(path) > MAX_DEPTH:
            raise _Refused("RG108", f"values nest more than {MAX_DEPTH} levels deep", node.start_mark,
                           "flatten the data")
        nid = id(node)
        if nid in self.active:
            raise _Refused("RG103", "recursive alias: a node contains itself", node.start_mark)
        if nid in self.seen:
            via_alias = True
        self.seen.add(nid)
        if via_alias:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise _Refused("RG103", f"aliases expand to more than {MAX_ALIAS_NODES} values",
                               node.start_mark, "remove the nested aliases (billion-laughs pattern)")
        self.doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.active.add(nid)
        try:
            if isinstance(node, self.yaml.MappingNode):
                return self._mapping(node, path, via_alias)
            if isinstance(node, self.yaml.SequenceNode):
                self._check_tag(node, f"{_CORE}seq")
                return [self.build(item, (*path, i), via_alias) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.active.discard(nid)

    def _check_tag(self, node: Any, expected: str) -> None:
        if node.tag != expected:
            raise _Refused("RG104", f"tag {node.tag!r} is not allowed", node.start_mark,
                           "only plain YAML values (strings, numbers, booleans, null, lists, mappings)")

    def _scalar(self, node: Any, path: JsonPath) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._check_tag(node, f"{_CORE}str")
        if node.style in _BLOCK_STYLES:
            first = self.lines[node.start_mark.line + 1] if node.start_mark.line + 1 < len(self.lines) else ""
            self.doc.block_scalars[path] = len(first) - len(first.lstrip()) + 1
        kind = node.tag[len(_CORE):]
        if _SURROGATE.search(node.value):  # from a "\\ud800" escape: no UTF-8 form, nothing can send it
            raise _Refused("RG101", "string holds a lone surrogate (an unpaired \\ud800-\\udfff escape)",
                           node.start_mark, "write the character itself, or a valid surrogate pair")
        if kind in ("str", "timestamp"):
            return node.value
        try:
            return getattr(self.constructor, f"construct_yaml_{kind}")(node)
        except (ValueError, TypeError, KeyError, OverflowError, self.yaml.YAMLError):
            # KeyError: PyYAML's bool constructor looks the text up (``!!bool maybe``)
            raise _Refused("RG101", f"{node.value!r} is not a valid {kind}", node.start_mark) from None

    def _pairs(self, node: Any, path: JsonPath, via_alias: bool) -> Iterator[tuple[Any, Any]]:
        """Explicit pairs first, then ``<<`` merge sources (explicit keys win)."""
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == f"{_CORE}merge":
                merges.append(value_node)
            else:
                yield key_node, value_node
        for source in merges:
            sources = source.value if isinstance(source, self.yaml.SequenceNode) else [source]
            for mapping in sources:
                if not isinstance(mapping, self.yaml.MappingNode):
                    raise _Refused("RG101", "merge key '<<' needs a mapping or a list of mappings",
                                   mapping.start_mark)
                yield from self._pairs(mapping, path, via_alias)

    def _mapping(self, node: Any, path: JsonPath, via_alias: bool) -> dict[str, Any]:
        self._check_tag(node, f"{_CORE}map")
        out: dict[str, Any] = {}
        merged_from: set[str] = set()
        explicit = {id(k) for k, _ in node.value}
        for key_node, value_node in self._pairs(node, path, via_alias):
            if not isinstance(key_node, self.yaml.ScalarNode):
                raise _Refused("RG107", "mapping keys must be plain scalars", key_node.start_mark)
            key = str(key_node.value)
            if _SURROGATE.search(key):
                raise _Refused("RG101", "key holds a lone surrogate (an unpaired \\ud800-\\udfff escape)",
                               key_node.start_mark)
            is_explicit = id(key_node) in explicit
            if key in out:
                if is_explicit and key not in merged_from:
                    raise _Refused("RG105", f"duplicate key {key!r}", key_node.start_mark,
                                   "remove one of the two entries")
                continue
            if not is_explicit:
                merged_from.add(key)
            child = (*path, key)
            self.doc.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child, via_alias)
        return out


def _read_error(sink: IssueSink, file: str, code: str, message: str, mark: Any,
                hint: str | None = None) -> None:
    line = mark.line + 1 if mark is not None else 1
    column = mark.column + 1 if mark is not None else 1
    sink.add(code, message, file=file, line=line, column=column, hint=hint)


def parse_definition(content: bytes, file: str, sink: IssueSink) -> list[Document]:
    """The documents of one definition file's bytes: size-checked, decoded as UTF-8, parsed.

    The limit counts bytes, so a reader never needs more than ``MAX_FILE_BYTES + 1`` of them.
    """
    if len(content) > MAX_FILE_BYTES:
        sink.add("RG102", f"file is larger than {MAX_FILE_BYTES // 1024} KiB", file=file, line=1,
                 column=1, hint="split the definitions over several files")
        return []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        sink.add("RG101", "file is not valid UTF-8", file=file, line=line, column=1)
        return []
    return parse_documents(text, file, sink)


def parse_documents(text: str, file: str, sink: IssueSink) -> list[Document]:
    """Every non-empty document of ``text``; problems go to ``sink`` (then no documents).

    No size limit here: :func:`parse_definition` applies it to the bytes of every input.
    """
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents: list[Document] = []
    lines = text.splitlines()
    try:
        loader = loader_cls(text)
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                if node is None or (node.tag == f"{_CORE}null" and not node.value):
                    continue  # an empty document (e.g. a trailing `---`)
                doc = Document(file=file, index=index, data=None)
                doc.data = _Builder(doc, lines).build(node, (), False)
                documents.append(doc)
                index += 1
        finally:
            loader.dispose()
    except _Refused as exc:
        _read_error(sink, file, exc.code, exc.message, exc.mark, exc.hint)
        return []
    except yaml.MarkedYAMLError as exc:
        # problem + context only: the snippet yaml appends could echo a secret
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        _read_error(sink, file, "RG101", message, exc.problem_mark or exc.context_mark)
        return []
    except yaml.YAMLError as exc:
        _read_error(sink, file, "RG101", str(exc).splitlines()[0], None)
        return []
    except RecursionError:  # the composer nests deeper than our own depth check can see
        _read_error(sink, file, "RG108", f"values nest more than {MAX_DEPTH} levels deep", None,
                    "flatten the data")
        return []
    return documents
