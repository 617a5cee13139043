"""The loading pipeline: files → YAML documents → schema → build → graph checks → :class:`Graph`."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue
from ..graph.model import Graph, freeze
from .agents import BuiltAgent, build_agent
from .checks import check_reachable, check_start, check_voices, unique_agents
from .entrypoints import EntrypointResolver
from .graphdoc import build_graph_parts, declared_allow, declared_variable_names
from .issues import IssueSink
from .plaindata import plain_copy
from .report import ValidationReport
from .schema import validate_document
from .telephony_checks import check_call_control, check_dtmf, check_telephony
from .yamlsource import MAX_FILE_BYTES, Document, parse_definition, plain_document

__all__ = ("DEFINITION_SUFFIXES", "folder_version", "load", "load_dict", "load_string", "shown_path",
           "validate", "validate_dict", "validate_string")

DEFINITION_SUFFIXES = (".yaml", ".yml")
"""Files of a definition folder that are read (other files, e.g. tool modules, are not)."""


def _version(parts: Sequence[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(parts):
        # surrogateescape: a file name that is not UTF-8 hashes as its raw bytes instead of raising
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + content + b"\0")
    return digest.hexdigest()[:12]


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as text that is always valid UTF-8: undecodable bytes of a file name become
    ``\\xNN`` escapes, so issues, reports and terminals never fail to encode it."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _definition_files(root: Path) -> list[Path]:
    """The definition files of the folder ``root`` (sorted), or ``[root]`` when it is one file."""
    if root.is_dir():
        # dangling links are skipped: a ConfigMap swap re-points them, and the next load sees it
        return sorted(f for f in root.iterdir() if f.suffix in DEFINITION_SUFFIXES and f.is_file())
    return [root]


def folder_version(path: str | os.PathLike[str]) -> str:
    """The :attr:`Graph.version` a load of ``path`` would give, from the file bytes alone (no
    parsing): a cheap "did anything change?" check. :raises OSError: if the files cannot be read."""
    return _version([(f.name, f.read_bytes()) for f in _definition_files(Path(path))])


def _read_folder(path: Path, sink: IssueSink) -> tuple[list[Document], list[tuple[str, bytes]], Path]:
    """Documents of every definition file under ``path`` (a folder or one file)."""
    shown = shown_path(path)
    try:
        exists = path.is_dir() or path.is_file()
    except (OSError, ValueError):  # a name the OS refuses (NUL, too long): it cannot exist either
        exists = False
    if not exists:
        sink.add("RG106", f"{shown} does not exist", file=shown,
                 hint="pass the definition folder, e.g. `rtgraph validate agents.d`")
        return [], [], path
    files = _definition_files(path)
    if not files:
        sink.add("RG106", f"{shown} has no *.yaml or *.yml files", file=shown,
                 hint="add a graph.yaml (kind: graph) and one file per agent (kind: agent)")
    documents: list[Document] = []
    contents: list[tuple[str, bytes]] = []
    for file in files:
        name = shown_path(file)
        if name != str(file):
            sink.add("RG109", "file name is not valid UTF-8", file=name, line=1, column=1,
                     hint="rename the file (the name is shown with \\xNN escapes)")
            contents.append((file.name, b""))
            continue
        try:
            with file.open("rb") as stream:  # one byte past the limit is enough to refuse the file
                content = stream.read(MAX_FILE_BYTES + 1)
        except OSError as exc:  # vanished, a symlink loop, a directory behind a link, unreadable
            sink.add("RG106", f"cannot read the file: {exc.strerror or type(exc).__name__}", file=name,
                     line=1, column=1, hint="check the file (a broken symlink?) and its permissions")
            continue
        contents.append((file.name, content))
        documents.extend(parse_definition(content, name, sink))
    if files and not documents and not sink.has_errors:
        sink.add("RG106", f"{shown} holds no YAML documents (every file is empty or only comments)",
                 file=shown_path(files[0]), line=1, column=1,
                 hint="add a graph.yaml (kind: graph) and one file per agent (kind: agent)")
    return documents, contents, path if path.is_dir() else path.parent


def _pipeline(documents: list[Document], sink: IssueSink, *, version: str, source: str, folder: Path,
              import_entrypoints: bool, reimport: bool, environ: Mapping[str, str] | None,
              shown_folder: str | None = None) -> Graph | None:
    env = os.environ if environ is None else environ
    # a file that failed to parse may hold the graph or a referenced agent: no reference errors then
    complete = not sink.has_errors
    valid = {id(doc): validate_document(doc, sink) for doc in documents}
    graph_docs = [doc for doc in documents if isinstance(doc.data, dict) and doc.data.get("kind") == "graph"]
    agent_docs = [doc for doc in documents if valid[id(doc)] == "agent"]
    # names of every agent document, even invalid ones, so references do not cascade
    names = [d.data["name"] for d in documents if isinstance(d.data, dict) and d.data.get("kind") == "agent"
             and isinstance(d.data.get("name"), str)]
    if not graph_docs and documents and complete:
        sink.add("RG201", "no `kind: graph` document", file=source,
                 hint="add graph.yaml with `kind: graph` and `start: <agent name>`")
    for extra in graph_docs[1:]:
        first = graph_docs[0]
        sink.add("RG202", f"a second `kind: graph` document; the first is in {first.file} "
                 f"(document {first.index + 1})", extra, ("kind",), hint="keep exactly one graph document per folder")
    # Without a graph document its imports.allow is unknown (it may be in a file that failed to
    # parse, or under a misspelt kind): import nothing then, check the module sources instead.
    resolver = EntrypointResolver(folder, sink, import_modules=import_entrypoints and bool(graph_docs),
                                  reimport=reimport, shown_folder=shown_folder)
    # read from the raw document so that an invalid graph file still restricts every import
    resolver.allow = declared_allow(graph_docs[0].data) if graph_docs else None
    graph_doc = graph_docs[0] if len(graph_docs) == 1 and valid[id(graph_docs[0])] == "graph" else None
    parts = build_graph_parts(graph_doc, resolver, sink, env) if graph_doc is not None else None
    start_ok = graph_doc is not None and complete and check_start(graph_doc, names, sink)
    variables = parts.variables if parts else declared_variable_names(graph_docs[0].data if graph_docs else None)
    descriptions = {d.data["name"]: d.data.get("description", "") for d in reversed(agent_docs)}
    for name in names:
        descriptions.setdefault(name, "")
    built: dict[str, BuiltAgent] = {}
    unique = unique_agents(agent_docs, sink)
    for doc in unique:
        entry = build_agent(doc, descriptions, variables, resolver, sink, complete=complete, environ=env)
        if entry is not None:
            built[entry.agent.name] = entry
    if parts is not None and start_ok:
        invalid = [d for d in documents if isinstance(d.data, dict) and d.data.get("kind") == "agent"
                   and valid[id(d)] != "agent"]
        check_reachable(parts.start, unique, sink, invalid, _routed_agents(graph_doc.data if graph_doc else None))
    if parts is not None and complete:
        check_voices(built, parts.model_settings, sink)
    if parts is not None and graph_doc is not None and complete:
        check_telephony(graph_doc, names, parts.variables, sink)
    for entry in built.values():
        tool_names = [t.name for t in entry.agent.tools] + [h.tool_name for h in entry.agent.handoffs]
        check_call_control(entry.doc, tool_names, sink)
        if complete:
            check_dtmf(entry.doc, names, sink)
    if sink.has_errors or parts is None:
        return None
    return Graph(version=version, start=parts.start, agents=freeze({n: e.agent for n, e in built.items()}),
                 variables=parts.variables, model_settings=parts.model_settings, run=parts.run,
                 output_guardrails=parts.output_guardrails, transport=parts.transport, hooks=parts.hooks,
                 source=source, serve=parts.serve, greeting=parts.greeting,
                 telephony=freeze(graph_doc.data.get("telephony", {}) if graph_doc else {}))


def _routed_agents(data: Any) -> list[str]:
    """Agents telephony routing rules start calls on (they need no handoff to be reachable)."""
    telephony = data.get("telephony") if isinstance(data, dict) else None
    rules = telephony.get("routing") if isinstance(telephony, dict) else None
    return [r["agent"] for r in rules or () if isinstance(r, dict) and isinstance(r.get("agent"), str)]


def _report(sink: IssueSink, graph: Graph | None) -> ValidationReport:
    return ValidationReport(issues=tuple(sorted(sink.issues, key=Issue.sort_key)), graph=graph)


def validate(path: str | os.PathLike[str] = "agents.d", *, import_entrypoints: bool = True,
             reimport: bool = False, environ: Mapping[str, str] | None = None) -> ValidationReport:
    """Validate a definition folder (or one file). Never raises for bad input."""
    sink = IssueSink()
    documents, contents, folder = _read_folder(Path(path), sink)
    graph = _pipeline(documents, sink, version=_version(contents), source=str(path), folder=folder.resolve(),
                      import_entrypoints=import_entrypoints, reimport=reimport, environ=environ,
                      shown_folder=str(folder))
    return _report(sink, graph)


def validate_string(text: str, *, filename: str = "<string>", import_entrypoints: bool = True,
                    reimport: bool = False, environ: Mapping[str, str] | None = None) -> ValidationReport:
    """Validate one (multi-document) YAML text; entrypoints resolve from the working directory."""
    sink = IssueSink()
    content = text.encode("utf-8", "surrogatepass")  # a lone surrogate then fails decoding: RG101
    documents = parse_definition(content, filename, sink)
    graph = _pipeline(documents, sink, version=_version([(filename, content)]), source=filename,
                      folder=Path.cwd(), import_entrypoints=import_entrypoints, reimport=reimport,
                      environ=environ, shown_folder="the working directory")
    return _report(sink, graph)


def validate_dict(documents: Sequence[Mapping[str, Any]], *, filename: str = "<dict>",
                  import_entrypoints: bool = True, reimport: bool = False,
                  environ: Mapping[str, str] | None = None) -> ValidationReport:
    """Validate already-parsed documents (no line numbers to report)."""
    sink = IssueSink()
    plain = plain_copy(documents, filename, sink)
    if plain is None:
        return _report(sink, None)
    docs = [plain_document(d, i, filename) for i, d in enumerate(plain)]
    blob = json.dumps(plain, sort_keys=True).encode()
    graph = _pipeline(docs, sink, version=_version([(filename, blob)]), source=filename, folder=Path.cwd(),
                      import_entrypoints=import_entrypoints, reimport=reimport, environ=environ,
                      shown_folder="the working directory")
    return _report(sink, graph)


def _graph_or_raise(report: ValidationReport) -> Graph:
    if report.graph is None:
        raise ConfigError(report.issues)
    return report.graph


def load(path: str | os.PathLike[str] = "agents.d", *, import_entrypoints: bool = True,
         reimport: bool = False, environ: Mapping[str, str] | None = None) -> Graph:
    """Load a definition folder into an immutable :class:`Graph`; raises :class:`ConfigError`."""
    return _graph_or_raise(validate(path, import_entrypoints=import_entrypoints, reimport=reimport,
                                    environ=environ))


def load_string(text: str, filename: str = "<string>", **kw: Any) -> Graph:
    """Load one multi-document YAML text (tests, notebooks)."""
    return _graph_or_raise(validate_string(text, filename=filename, **kw))


def load_dict(documents: Sequence[Mapping[str, Any]], **kw: Any) -> Graph:
    """Load already-parsed documents (``[{"kind": "graph", ...}, {"kind": "agent", ...}]``)."""
    return _graph_or_raise(validate_dict(documents, **kw))
