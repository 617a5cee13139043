"""Resolve ``module:function`` entrypoints, by importing or (``--no-import``) by reading source.

The definition folder goes to the front of ``sys.path`` while importing, so tool modules can
live next to the YAML. Failures become located issues with a one-line message, never a
traceback. Without import we locate the module file (walking the dotted path over the folder
and ``sys.path``) and check with :mod:`ast` that the attribute exists at module top level.
"""

from __future__ import annotations

import ast
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..graph.model import Entrypoint, SourceLocation
from .callshapes import SHAPES, accepted, adapt_call, is_async_callable, match_shape
from .issues import IssueSink, closest
from .sdk_objects import guardrail_adapter, sdk_kind
from .signature import signature_of, verdict_annotation_problem
from .yamlsource import Document, JsonPath

__all__ = ("CONVENTIONS", "EntrypointResolver", "Found")

# role -> how the docs write the accepted calls (ours first; the SDK's shapes are adapted)
CONVENTIONS: dict[str, str] = {role: accepted(role) for role in SHAPES}

_ROLE_NAMES = {"on_handoff_input": "on_handoff (with input_type)", "on_handoff_hook": "on_handoff hook",
               "on_agent_start": "on_agent_start hook", "on_agent_end": "on_agent_end hook",
               "on_tool_start": "on_tool_start hook", "on_tool_end": "on_tool_end hook"}
_HOOK_ROLES = frozenset(("on_agent_start", "on_agent_end", "on_tool_start", "on_tool_end", "on_handoff_hook"))
_ACCEPTED_OBJECTS = {
    None: "a tool entrypoint names a function, or a FunctionTool (@function_tool) when openai-agents is installed",
    "guardrail": "a guardrail entrypoint names a function, or an OutputGuardrail (@output_guardrail) "
                 "when openai-agents is installed",
}


@dataclass(frozen=True, slots=True)
class Found:
    """What an entrypoint names: the object (None when not imported), where, whether async (static)."""

    target: Any
    location: SourceLocation | None
    is_async: bool = False


_ABSENT = object()  # an attribute that does not exist (None may be a real value)
_IMPORT_LOCK = threading.RLock()  # sys.path and module imports are process-global


def _one_line(exc: BaseException) -> str:
    try:
        text = str(exc).strip().splitlines()
    except Exception:  # a user exception whose __str__ raises
        text = []
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Missing:
    """Why a module could not be provided: the issue code, message and hint."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        self.code, self.message, self.hint = code, message, hint


def _fresh_import(name: str, old: ModuleType) -> ModuleType:
    """``name`` imported anew into an empty namespace.

    ``importlib.reload`` re-runs the source over the *old* namespace, so a function deleted
    from the file lives on and every entrypoint naming it still resolves. A fresh module makes
    a removed function a rejected reload (RG303). On failure the old module stays in place.
    """
    del sys.modules[name]
    try:
        return importlib.import_module(name)
    except BaseException:
        sys.modules[name] = old
        raise


class EntrypointResolver:
    """Resolves entrypoints of one load; each module is imported (or read) at most once."""

    def __init__(self, folder: Path, sink: IssueSink, *, import_modules: bool = True,
                 reimport: bool = False, shown_folder: str | None = None) -> None:
        self.folder = folder
        self.shown_folder = shown_folder or str(folder)
        self.sink = sink
        self.import_modules = import_modules
        self.reimport = reimport
        self.allow: tuple[str, ...] | None = None
        self._modules: dict[str, ModuleType | _Missing] = {}
        self._sources: dict[str, tuple[set[str], set[str], bool] | _Missing | None] = {}

    # -- public -------------------------------------------------------------------------------
    def resolve(self, ref: str, doc: Document, path: JsonPath, role: str | None = None) -> Entrypoint | None:
        """The :class:`Entrypoint` for ``ref`` or None (issue recorded).

        ``role`` (a key of :data:`CONVENTIONS`) matches the call shape: ours is used as it is, an
        SDK shape gets an adapter with ours. None is a tool: a function or a ``FunctionTool``,
        adapted by :mod:`.components`.
        """
        found = self.lookup(ref, doc, path)
        if found is None:
            return None
        if not self.import_modules:  # --no-import: the name exists, nothing more is known
            return Entrypoint(ref=ref, target=None, is_async=found.is_async, location=found.location)
        module_name, _, attr = ref.partition(":")
        # user objects may raise anything from __getattr__, __dir__, properties or signatures
        try:
            return self._conform(ref, found.target, role, doc, path, found.location)
        except Exception as exc:
            self.sink.add("RG303", f"looking up {attr!r} in {module_name!r} failed: {_one_line(exc)}", doc, path,
                          hint="the module's __getattr__ or a property raised; fix the module")
            return None

    def lookup(self, ref: str, doc: Document, path: JsonPath) -> Found | None:
        """The object ``ref`` names (``imports.allow``, import, attribute), or None (issue recorded).
        Without import, ``target`` is None once the name was found in the module's source."""
        module_name, _, attr = ref.partition(":")
        location = doc.source_location(path)
        if self.allow is not None and not any(
                module_name == p or module_name.startswith(p + ".") for p in self.allow):
            self.sink.add("RG308", f"module {module_name!r} is not in imports.allow", doc, path,
                          hint=f"allowed prefixes: {', '.join(self.allow) or '(none)'}; "
                               "add it to imports.allow in the graph file")
            return None
        if not self.import_modules:
            return self._check_source(module_name, attr, doc, path, location)
        module = self._module(module_name)
        if isinstance(module, _Missing):
            self.sink.add(module.code, module.message, doc, path, hint=module.hint)
            return None
        try:
            target = self._attribute(module, module_name, attr, doc, path)
        except Exception as exc:
            self.sink.add("RG303", f"looking up {attr!r} in {module_name!r} failed: {_one_line(exc)}", doc, path,
                          hint="the module's __getattr__ or a property raised; fix the module")
            return None
        return None if target is _ABSENT else Found(target, location)

    def _conform(self, ref: str, target: Any, role: str | None, doc: Document, path: JsonPath,
                 location: SourceLocation | None) -> Entrypoint | None:
        kind = sdk_kind(target)
        if role is None and kind == "function_tool":
            return Entrypoint(ref=ref, target=target, is_async=True, location=location,
                              convention="FunctionTool (SDK): on_invoke_tool(ToolContext, arguments)")
        if role == "guardrail" and kind == "output_guardrail":
            return Entrypoint(ref=ref, target=guardrail_adapter(target, ref), is_async=True, location=location,
                              convention="OutputGuardrail (SDK): run(context, agent, output)")
        if not callable(target):
            self.sink.add("RG304", f"{ref!r} is not callable: it is of type {type(target).__name__}", doc, path,
                          hint=_ACCEPTED_OBJECTS.get(role))
            return None
        is_async = is_async_callable(target)
        if role is None:
            return Entrypoint(ref=ref, target=target, is_async=is_async, location=location)
        signature = signature_of(target)
        shape = match_shape(role, signature)
        if shape is None:
            self.sink.add("RG305", f"{_ROLE_NAMES.get(role, role)} entrypoint {ref!r} must be callable as "
                          f"{SHAPES[role][0].text}; its signature is {signature}", doc, path,
                          hint=f"accepted signatures: {accepted(role)}"
                               + ("; with input_type: fn(context, input)" if role == "on_handoff" else ""))
            return None
        if role == "guardrail" and not self._returns_verdict(target, ref, doc, path):
            return None
        return Entrypoint(ref=ref, target=adapt_call(role, shape, target, ref), is_async=is_async,
                          location=location, convention=shape.label, takes_context=shape.sdk and role in _HOOK_ROLES)

    def resolve_constant(self, ref: str, doc: Document, path: JsonPath) -> tuple[bool, Any]:
        """``(True, value)`` of the module attribute ``ref`` names (any object; the caller checks
        its type), or ``(False, None)`` with an issue recorded. Without import the value is
        unknown: ``(True, None)`` once the name is found in the module source."""
        found = self.lookup(ref, doc, path)
        return (False, None) if found is None else (True, found.target)  # a found attribute may itself be None

    def _returns_verdict(self, target: Any, ref: str, doc: Document, path: JsonPath) -> bool:
        returned = verdict_annotation_problem(target)
        if returned is not None:
            self.sink.add("RG309", f"guardrail entrypoint {ref!r} is annotated to return {returned}; "
                          "a guardrail returns GuardrailResult, bool, None or an object with a "
                          "boolean tripwire_triggered", doc, path,
                          hint="return GuardrailResult(tripped, info) or a bool (True = trip), and annotate it so")
        return returned is None

    def _attribute(self, module: ModuleType, module_name: str, attr: str, doc: Document,
                   path: JsonPath) -> Any:
        target: Any = module
        for part in attr.split("."):
            if not hasattr(target, part):
                names = [n for n in dir(target) if isinstance(n, str) and not n.startswith("_")]
                near = closest(part, names)
                self.sink.add("RG303", f"{module_name!r} has no attribute {attr!r}", doc, path,
                              hint=f"did you mean {module_name}:{near}?" if near else None)
                return _ABSENT
            target = getattr(target, part)
        return target

    # -- importing ----------------------------------------------------------------------------
    @contextmanager
    def _on_path(self) -> Iterator[None]:
        with _IMPORT_LOCK:
            entry = str(self.folder)
            sys.path.insert(0, entry)
            importlib.invalidate_caches()  # files written since the last import must be seen
            try:
                yield
            finally:
                sys.path.remove(entry)

    def _module(self, name: str) -> ModuleType | _Missing:
        if name in self._modules:
            return self._modules[name]
        with self._on_path():
            try:
                module = sys.modules.get(name)
                if module is not None and self.reimport and self._is_user_module(module):
                    module = _fresh_import(name, module)
                elif module is None:
                    module = importlib.import_module(name)
                result: ModuleType | _Missing = module
            except ModuleNotFoundError as exc:
                if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                    where = name.replace(".", "/")
                    result = _Missing("RG301", f"module {name!r} not found",
                                      f"looked in {self.shown_folder} and sys.path; "
                                      f"put {where}.py next to the YAML or install it")
                else:
                    result = _Missing("RG302", f"importing {name!r} failed: {_one_line(exc)}")
            except (Exception, SystemExit, RecursionError) as exc:  # user code may raise anything at import
                result = _Missing("RG302", f"importing {name!r} failed: {_one_line(exc)}",
                                  "fix the module so that it imports cleanly")
        self._modules[name] = result
        return result

    @staticmethod
    def _is_user_module(module: ModuleType) -> bool:
        top = module.__name__.partition(".")[0]
        file = getattr(module, "__file__", None) or ""
        return top not in sys.stdlib_module_names and "site-packages" not in file and bool(file)

    # -- no-import mode -----------------------------------------------------------------------
    def _check_source(self, module_name: str, attr: str, doc: Document, path: JsonPath,
                      location: SourceLocation | None) -> Found | None:
        info = self._source_names(module_name)
        if isinstance(info, _Missing):
            self.sink.add(info.code, info.message, doc, path, hint=info.hint)
            return None
        is_async = False
        if info is not None:
            names, async_names, star = info
            head = attr.partition(".")[0]
            if head not in names and not star:
                near = closest(head, sorted(names))
                self.sink.add("RG303", f"{module_name!r} has no attribute {attr!r}", doc, path,
                              hint=f"did you mean {module_name}:{near}?" if near else None)
                return None
            is_async = attr in async_names
        return Found(None, location, is_async)

    def _source_names(self, name: str) -> tuple[set[str], set[str], bool] | _Missing | None:
        """Top-level names of the module's source, None when it has no Python source (builtin)."""
        if name in self._sources:
            return self._sources[name]
        from importlib.machinery import PathFinder

        result: tuple[set[str], set[str], bool] | _Missing | None
        search: list[str] | None = [str(self.folder), *sys.path]
        spec = None
        parts = name.split(".")
        for i in range(len(parts)):
            spec = PathFinder.find_spec(".".join(parts[: i + 1]), search) if search else None
            search = list(spec.submodule_search_locations or []) if spec is not None else None
        if spec is None:
            result = None if name in sys.builtin_module_names else _Missing(
                "RG301", f"module {name!r} not found", f"looked in {self.shown_folder} and sys.path")
        elif not (spec.origin or "").endswith(".py"):
            result = None
        else:
            origin = spec.origin or ""
            try:
                tree = ast.parse(Path(origin).read_bytes(), filename=origin)
                result = _top_level_names(tree)
            except (SyntaxError, ValueError, OSError, RecursionError, MemoryError) as exc:
                result = _Missing("RG302", f"reading {name!r} failed: {_one_line(exc)}")
        self._sources[name] = result
        return result


def _top_level_names(tree: ast.Module) -> tuple[set[str], set[str], bool]:
    names: set[str] = set()
    async_names: set[str] = set()
    star = False
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.AsyncFunctionDef):
                async_names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                else:
                    names.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            statements.extend(node.body)
            statements.extend(getattr(node, "orelse", []))
            statements.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                statements.extend(handler.body)
    return names, async_names, star
