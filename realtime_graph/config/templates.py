"""Instructions templates: compiled once at load in a Jinja2 sandbox with ``StrictUndefined``.

Template line numbers are mapped back to the YAML file: a block scalar (``|``/``>``) starts on
the line after its indicator, other scalars on their own line.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from ..graph.model import InstructionTemplate
from .issues import IssueSink
from .yamlsource import Document, JsonPath

__all__ = ("compile_instructions",)

_JINJA_MARKERS = ("{{", "{%", "{#")
_RUNTIME_NAMES = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _file_position(doc: Document, path: JsonPath, template_line: int) -> tuple[int | None, int | None]:
    line, column = doc.locate(path)
    if line is None:
        return None, None
    if path in doc.block_scalars:
        return line + template_line, doc.block_scalars[path]
    return line + template_line - 1, column if template_line == 1 else None


def _free_variables(parsed: Any, env: Any) -> dict[str, int]:
    """Names the template reads from its context -> first line using them.

    A cheap AST walk instead of ``jinja2.meta.find_undeclared_variables`` (which runs a whole
    code generation pass): a name is free unless the template binds it anywhere (set, for,
    macro, parameters) or it is a Jinja global. Rare misses are caught by StrictUndefined.
    """
    from jinja2 import nodes

    loaded: dict[str, int] = {}
    bound = {macro.name for macro in parsed.find_all(nodes.Macro)}
    for name in parsed.find_all(nodes.Name):
        if name.ctx == "load":
            loaded[name.name] = min(loaded.get(name.name, name.lineno), name.lineno)
        else:
            bound.add(name.name)
    return {n: line for n, line in loaded.items()
            if n not in bound and n not in env.globals and n not in _RUNTIME_NAMES}


def _add(sink: IssueSink, code: str, message: str, doc: Document, path: JsonPath,
         template_line: int, hint: str | None) -> None:
    line, column = _file_position(doc, path, template_line)
    if line is None:
        sink.add(code, message, doc, path, hint=hint)
    else:
        sink.add(code, message, doc, path, hint=hint, line=line, column=column or 1)


def compile_instructions(source: str, declared: Collection[str], doc: Document, path: JsonPath,
                         sink: IssueSink) -> InstructionTemplate | None:
    """Compile ``source``; syntax errors and undeclared variables are located issues."""
    if not any(marker in source for marker in _JINJA_MARKERS):
        return InstructionTemplate(source=source)  # plain text: nothing to compile
    from jinja2 import TemplateSyntaxError

    env = _environment()
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as exc:
        _add(sink, "RG401", f"template syntax error: {exc.message}", doc, path, exc.lineno or 1,
             "see https://jinja.palletsprojects.com/templates/ for the syntax")
        return None
    free = _free_variables(parsed, env)
    undeclared = sorted(set(free) - set(declared))
    for name in undeclared:
        first = free[name]
        known = ", ".join(sorted(declared)) or "(none)"
        _add(sink, "RG402", f"template uses undeclared variable {name!r}", doc, path, first,
             f"declare it under `variables:` in the graph file; declared: {known}")
    if undeclared:
        return None
    try:
        compiled = env.from_string(parsed)
    except TemplateSyntaxError as exc:  # unknown filters/tests surface only when compiling
        _add(sink, "RG401", f"template error: {exc.message}", doc, path, exc.lineno or 1, None)
        return None
    return InstructionTemplate(source=source, compiled=compiled)
