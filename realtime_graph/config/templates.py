"""Instructions templates: compiled once at load in a bounded Jinja2 sandbox with ``StrictUndefined``.

Template line numbers are mapped back to the YAML file: a block scalar (``|``/``>``) starts on
the line after its indicator, other scalars on their own line.

Bounds, so that no template can hang or exhaust the loader (each a located issue):

- RG403: nesting (brackets and blocks) deeper than :data:`MAX_TEMPLATE_NESTING`, an expression
  tree deeper than :data:`MAX_EXPRESSION_DEPTH`, more than :data:`MAX_TEMPLATE_TOKENS` tokens, a
  number literal longer than :data:`MAX_NUMBER_DIGITS` digits;
- RG404: what the sandbox would refuse at render, refused statically: attributes and items
  starting with ``_`` (``company.__class__``), ``range()`` beyond the sandbox's limit;
- RG405: constant expressions whose value would be huge (``'a' * 10**9``, ``10**5000``).

Jinja folds constant expressions while compiling; the environment intercepts ``*``, ``**``
and ``%`` so it cannot fold them (they run through :meth:`_BoundedSandbox.call_binop`, bounded,
at render), and size-amplifying filters and globals are bounded versions. Render time is
bounded by :func:`realtime_graph.graph.rendering.render_instructions`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator
from functools import cache
from typing import Any

from ..graph.model import InstructionTemplate
from ..graph.rendering import MAX_RENDER_CHARS
from .issues import IssueSink
from .yamlsource import Document, JsonPath

__all__ = ("MAX_EXPRESSION_DEPTH", "MAX_NUMBER_DIGITS", "MAX_TEMPLATE_NESTING", "MAX_TEMPLATE_TOKENS",
           "compile_instructions")

MAX_TEMPLATE_NESTING = 24
"""Deepest nesting of brackets, and separately of blocks (``if``/``for``/...), in one template."""
MAX_EXPRESSION_DEPTH = 48
"""Deepest expression tree (``1 + 1 + ... + 1`` nests one level per operator)."""
MAX_TEMPLATE_TOKENS = 50_000
"""Most tokens in one template."""
MAX_NUMBER_DIGITS = 30
"""Longest number literal (Python refuses to convert integers of over 4300 digits at all)."""

_JINJA_MARKERS = ("{{", "{%", "{#")
_RUNTIME_NAMES = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})
_OPEN, _CLOSE = "([{", ")]}"
_BLOCKS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans"})
_PERCENT_WIDTH = re.compile(r"%[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?")
_FORMAT_WIDTH = re.compile(r"\d{4,}")


class _Refused(Exception):
    def __init__(self, code: str, message: str, line: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.line, self.hint = code, message, line, hint


def _too_big(what: str) -> Any:
    from jinja2.exceptions import SecurityError

    return SecurityError(f"{what} would be larger than {MAX_RENDER_CHARS} characters")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 1


def _check_percent(fmt: str) -> None:
    for match in _PERCENT_WIDTH.finditer(fmt):
        for group in match.groups():
            if group == "*" or (group and int(group) > MAX_RENDER_CHARS):
                raise _too_big("a %-format")


def _bounded_binop(operator: str, left: Any, right: Any) -> Any:
    """``left <operator> right`` for the intercepted operators, refusing huge results first."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and _size(seq) * count > MAX_RENDER_CHARS:
                raise _too_big("a repeated sequence")
        return left * right
    if operator == "**":
        if (isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
                and right * math.log10(abs(left)) > MAX_NUMBER_DIGITS * 10):
            raise _too_big("a power")
        return left**right
    if operator == "%":
        if isinstance(left, str):
            _check_percent(left)
        return left % right
    raise AssertionError(operator)


def _bounded_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters whose output can dwarf their input, with their arguments bounded."""
    from jinja2 import filters as jf

    def center(value: Any, width: int = 80) -> str:
        if isinstance(width, int) and width > MAX_RENDER_CHARS:
            raise _too_big("center()")
        return jf.do_center(value, width)

    def indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
        if _size(width) * max(1, str(s).count("\n") + 1) > MAX_RENDER_CHARS or (
                isinstance(width, int) and width > MAX_RENDER_CHARS):
            raise _too_big("indent()")
        return jf.do_indent(s, width, first, blank)

    def replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
        grows = max(0, _size(new) - _size(old)) * (str(s).count(str(old)) + 1 if old != "" else len(str(s)) + 1)
        if len(str(s)) + grows > MAX_RENDER_CHARS:
            raise _too_big("replace()")
        return jf.do_replace(eval_ctx, s, old, new, count)

    def format_(value: str, *args: Any, **kwargs: Any) -> str:
        _check_percent(str(value))
        return jf.do_format(value, *args, **kwargs)

    def wordwrap(environment: Any, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
        return jf.do_wordwrap(environment, s, width, *args, **kwargs)

    from jinja2.utils import pass_environment, pass_eval_context

    out = dict(filters)
    out.update(center=center, indent=indent, replace=pass_eval_context(replace), format=format_,
               wordwrap=pass_environment(wordwrap))
    return out


@cache
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    from jinja2.utils import Namespace, generate_lorem_ipsum

    class _BoundedNamespace(Namespace):
        def __setitem__(self, name: str, value: Any) -> None:
            if _size(value) > MAX_RENDER_CHARS:
                raise _too_big("a namespace value")
            super().__setitem__(name, value)

    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if n * max > MAX_RENDER_CHARS // 8:
            raise _too_big("lipsum()")
        return str(generate_lorem_ipsum(n, html, min, max))

    class _BoundedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            return _bounded_binop(operator, left, right)

    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = _bounded_filters(env.filters)
    env.globals.update(namespace=_BoundedNamespace, lipsum=lipsum)
    return env


def _file_position(doc: Document, path: JsonPath, template_line: int) -> tuple[int | None, int | None]:
    line, column = doc.locate(path)
    if line is None:
        return None, None
    if path in doc.block_scalars:
        return line + template_line, doc.block_scalars[path]
    return line + template_line - 1, column if template_line == 1 else None


_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")


def _obviously_within_bounds(source: str) -> bool:
    """A cheap over-approximation of :func:`_lex_bounds` (counting brackets and blocks in the
    text as well as in tags), so ordinary instructions skip the second lexing pass."""
    if len(source) > MAX_TEMPLATE_TOKENS or source.count("{%") > MAX_TEMPLATE_NESTING:
        return False
    if _LONG_NUMBER.search(source):
        return False
    depth = deepest = 0
    for char in _NOT_BRACKET.sub("", source):
        depth = depth + 1 if char in _OPEN else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest <= MAX_TEMPLATE_NESTING + 2  # "{{" counts 2 in the text, not as a bracket


def _lex_bounds(source: str, env: Any) -> None:
    """Nesting, token count and literal sizes from the token stream (lexing does not recurse)."""
    brackets = blocks = tokens = 0
    after_block_begin = False
    for line, kind, value in env.lex(source):
        tokens += 1
        if tokens > MAX_TEMPLATE_TOKENS:
            raise _Refused("RG403", f"template has more than {MAX_TEMPLATE_TOKENS} tokens", line,
                           "split the instructions or move text out of expressions")
        if kind in ("integer", "float") and sum(c.isdigit() for c in value) > MAX_NUMBER_DIGITS:
            raise _Refused("RG403", f"number literal longer than {MAX_NUMBER_DIGITS} digits", line)
        if kind == "operator" and value in _OPEN:
            brackets += 1
            if brackets > MAX_TEMPLATE_NESTING:
                raise _Refused("RG403", f"brackets nest more than {MAX_TEMPLATE_NESTING} levels deep", line,
                               "simplify the expression")
        elif kind == "operator" and value in _CLOSE:
            brackets = max(0, brackets - 1)
        if kind == "block_begin":
            after_block_begin = True
            continue
        if kind == "name" and after_block_begin:
            if value in _BLOCKS:
                blocks += 1
                if blocks > MAX_TEMPLATE_NESTING:
                    raise _Refused("RG403", f"blocks nest more than {MAX_TEMPLATE_NESTING} levels deep", line,
                                   "flatten the if/for blocks")
            elif value.startswith("end"):
                blocks = max(0, blocks - 1)
        if kind != "whitespace":
            after_block_begin = False


def _walk(parsed: Any) -> Iterator[tuple[Any, int]]:
    """Every node with its depth, without recursion (Jinja's own walk recurses)."""
    from jinja2 import nodes

    stack: list[tuple[Any, int]] = [(parsed, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node.iter_child_nodes() if isinstance(child, nodes.Node))


def _const(node: Any) -> Any:
    from jinja2 import nodes

    return node.value if isinstance(node, nodes.Const) else None


_FOLDABLE = {"Mul": "*", "Pow": "**", "Mod": "%"}


def _fold(node: Any) -> Any:
    """The constant value of ``node`` (None when it is not constant), computed with the same
    bounds as at render, so ``'a' * 10**9`` is refused at load instead of failing every render."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        value = _fold(node.node)
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(node, nodes.BinExpr):
        left, right = _fold(node.left), _fold(node.right)
        if left is None or right is None:
            return None
        name = type(node).__name__
        if name in _FOLDABLE:
            return _bounded_binop(_FOLDABLE[name], left, right)
        if name in ("Add", "Sub") and all(isinstance(v, (int, float)) for v in (left, right)):
            return left + right if name == "Add" else left - right
    return None


def _static_checks(parsed: Any) -> dict[str, int]:
    """Refuses what the sandbox would refuse, and huge constants; returns the free variables."""
    from jinja2 import nodes
    from jinja2.sandbox import MAX_RANGE

    loaded: dict[str, int] = {}
    bound: set[str] = set()
    arithmetic: list[Any] = []
    for node, depth in _walk(parsed):
        line = getattr(node, "lineno", 1) or 1
        if depth > MAX_EXPRESSION_DEPTH:
            raise _Refused("RG403", f"expression nests more than {MAX_EXPRESSION_DEPTH} levels deep", line,
                           "simplify the expression (each operator adds a level)")
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                loaded[node.name] = min(loaded.get(node.name, line), line)
            else:
                bound.add(node.name)
        elif isinstance(node, nodes.Macro):
            bound.add(node.name)
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise _Refused("RG404", f"attribute {node.attr!r} is not allowed in templates", line,
                           "templates may read declared variables and public attributes only")
        elif isinstance(node, nodes.Getitem) and isinstance(_const(node.arg), str) and _const(node.arg).startswith("_"):
            raise _Refused("RG404", f"item {_const(node.arg)!r} is not allowed in templates", line,
                           "templates may read declared variables and public attributes only")
        elif isinstance(node, (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
            raise _Refused("RG404", "instructions cannot include, extend or import other templates", line,
                           "put the text into this template, or into a variable")
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            raise _Refused("RG404", "the `attr` filter is not allowed in templates", line,
                           "write `value.name` instead")
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
            args = [_const(a) for a in node.args]
            if any(isinstance(a, int) and abs(a) > MAX_RANGE for a in args):
                raise _Refused("RG404", f"range() is limited to {MAX_RANGE} items in templates", line)
        elif isinstance(node, (nodes.Mul, nodes.Pow, nodes.Mod)):
            arithmetic.append(node)
    for node in arithmetic:  # after the walk: every subtree is known to be shallow
        try:
            _fold(node)
        except MemoryError:
            raise _Refused("RG405", "constant expression is too large", node.lineno or 1) from None
        except Exception as exc:
            if type(exc).__name__ == "SecurityError":
                raise _Refused("RG405", f"constant expression is too large: {exc}", node.lineno or 1,
                               "templates are for text; compute large values in a tool") from None
    return {n: line for n, line in loaded.items() if n not in bound and n not in _RUNTIME_NAMES}


def _add(sink: IssueSink, code: str, message: str, doc: Document, path: JsonPath,
         template_line: int, hint: str | None) -> None:
    line, column = _file_position(doc, path, template_line)
    if line is None:
        sink.add(code, message, doc, path, hint=hint)
    else:
        sink.add(code, message, doc, path, hint=hint, line=line, column=column or 1)


def compile_instructions(source: str, declared: Collection[str], doc: Document, path: JsonPath,
                         sink: IssueSink) -> InstructionTemplate | None:
    """Compile ``source``; syntax errors, undeclared variables and bounds are located issues."""
    if not any(marker in source for marker in _JINJA_MARKERS):
        return InstructionTemplate(source=source)  # plain text: nothing to compile
    from jinja2 import TemplateSyntaxError

    env = _environment()
    try:
        if not _obviously_within_bounds(source):
            _lex_bounds(source, env)
        parsed = env.parse(source)
        free = {n: line for n, line in _static_checks(parsed).items() if n not in env.globals}
    except _Refused as exc:
        _add(sink, exc.code, exc.message, doc, path, exc.line, exc.hint)
        return None
    except TemplateSyntaxError as exc:
        _add(sink, "RG401", f"template syntax error: {exc.message}", doc, path, exc.lineno or 1,
             "see https://jinja.palletsprojects.com/templates/ for the syntax")
        return None
    except (RecursionError, MemoryError, ValueError, OverflowError):  # bounds above should prevent these
        _add(sink, "RG403", "template is too complex to compile", doc, path, 1, "simplify the template")
        return None
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
    except (RecursionError, MemoryError, ValueError, OverflowError):
        _add(sink, "RG403", "template is too complex to compile", doc, path, 1, "simplify the template")
        return None
    return InstructionTemplate(source=source, compiled=compiled)
