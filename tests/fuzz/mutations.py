"""Mutation cases for the loader fuzzer: deterministic from (seed, index), no I/O until written.

A case is a definition folder derived from one of the seed folders (``agents.d/`` and the
documented examples in docs/format.md) by one to three mutations (swapped, deleted and
duplicated lines, retyped scalars, huge numbers, deep nesting, unicode with NUL and lone
surrogates, anchors and merges, tags, template abuse, deny-regex abuse, odd file names and
symlinks, tool modules that misbehave), or a list of documents for ``validate_dict`` (mixed-type
keys, deep nesting, self-reference, alias-shared data, values that are not JSON).

Used by tests/fuzz/test_fuzz.py (a few thousand cases) and bench/bench_fuzz.py (long mode).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ("Case", "make_case", "seed_folders", "write_case")

ROOT = Path(__file__).resolve().parents[2]
MODULE = "demo_tools"


@dataclass
class Case:
    """One fuzz input. ``files`` maps a file name (``bytes`` for names that are not UTF-8) to content."""

    index: int
    mutations: list[str]
    files: dict[str | bytes, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)  # link name -> target (relative)
    dirs: list[str] = field(default_factory=list)
    documents: list[Any] | None = None  # validate_dict mode

    @property
    def mode(self) -> str:
        return "dict" if self.documents is not None else "folder"


def _format_md_blocks() -> list[str]:
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind:" in b]


_SEEDS: list[dict[str, bytes]] | None = None


def seed_folders() -> list[dict[str, bytes]]:
    """The seed folders: ``agents.d`` as shipped, and the documented graph + agent examples."""
    global _SEEDS
    if _SEEDS is None:
        example = {p.name: p.read_bytes() for p in sorted((ROOT / "agents.d").iterdir())
                   if p.suffix in (".yaml", ".yml", ".py")}
        blocks = _format_md_blocks()
        documented = {f"doc{i}.yaml": b.encode() for i, b in enumerate(blocks)}
        documented[f"{MODULE}.py"] = example[f"{MODULE}.py"]
        _SEEDS = [example, documented]
    return _SEEDS


# -- values ------------------------------------------------------------------------------------

_HUGE = ["9" * 401, "-" + "9" * 5000, "1e400", "-1e999", ".inf", ".nan", "0x" + "f" * 300, "1_000_000_000_000",
         "0o777777777777777777777", "18446744073709551616", "1.7976931348623157e309"]
_SCALARS = ["123", "-1", "0", "1.5", "true", "false", "null", "~", "[]", "{}", "''", '"x"', "yes", "no",
            "!!bool maybe", "!!int abc", "!!float x", "!!null 1", "!!timestamp nope", "2001-12-14",
            "12:30:00", "'${OPENAI_API_KEY}'", '"${UNSET:-sk-literal}"', '"${BAD"', '"${A:-${B}}"',
            "[1, 2, 3]", "{a: 1}", "- x", "&a 5", "*nope", "!!binary aGVsbG8=", "!!set {a, b}",
            "!!omap [a: 1]", "!!python/object:os.system ls", "!custom x", "!<tag:yaml.org,2002:int> 9",
            "!!str 5", "|\n  block", ">-\n  folded", '"\\0"', '"\\ud800"', '"\\udfff x"', '"a\\x00b"',
            "\"\\U0001F600\"", "'\u202e'", "\"\\u2028\"", "'" + "x" * 5000 + "'", "500ms", "1.5s", "2m", "5s",
            "-5s", "0ms", "99999999999999999999999m", "1e400s"]
_TEMPLATES = [
    "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
    "{{ " + "[" * 120 + "]" * 120 + " }}",
    "{{ " + "+".join(["1"] * 6000) + " }}",
    "{{ " + " ~ ".join(["'a'"] * 3000) + " }}",
    "{{ " + "company|" * 400 + "upper }}",
    "{% if true %}" * 400 + "x" + "{% endif %}" * 400,
    "{% for i in range(3) %}" * 200 + "x" + "{% endfor %}" * 200,
    "{{ 'a' * 10**9 }}", "{{ 'ab' * 99999999 }}", "{{ [1] * 10**9 }}", "{{ 10**5000 }}", "{{ 9**9**9 }}",
    "{{ " + "9" * 5000 + " }}", "{{ 1e400 }}", "{{ 2**-10000 }}", "{{ (10**100) ~ 'x' }}",
    "{{ company.__class__ }}", "{{ company.__class__.__mro__[1].__subclasses__() }}", "{{ ''.__class__ }}",
    "{{ company['__class__'] }}", "{{ company|attr('__class__') }}", "{{ cycler.__init__.__globals__ }}",
    "{{ self.__init__ }}", "{{ lipsum.__globals__ }}", "{{ company.format('{0.__class__}', 1) }}",
    "{{ company.mro }}", "{{ joiner._last }}", "{{ namespace.__init__ }}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{{ range(10**9) }}", "{{ range(99999999)|list }}", "{{ lipsum(10**6) }}", "{{ 'x'|center(10**9) }}",
    "{{ 'a'|indent(10**8) }}", "{{ 'ab'|replace('a', 'a' * 1000)|replace('a', 'a' * 1000) }}",
    "{% set ns = namespace(x='ab') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{% include 'x.yaml' %}", "{% extends 'x' %}",
    "{% import 'x' as y %}", "{% from 'x' import y %}", "{{ company }", "{% raw %}", "{{ undefined_thing }}",
    "{{ company|nosuchfilter }}", "{{ company is nosuchtest }}", "{% set x = 1 %}{{ x.__class__ }}",
    "{% for x in company %}{% for y in company %}{{ x }}{% endfor %}{% endfor %}", "{{ \x00 }}",
    "{{ '\ud800' }}", "{# " + "{" * 1000 + " #}", "{% filter upper %}" * 300 + "{% endfilter %}" * 300,
    "{{ dict(a=1).items() }}", "{{ {}.__class__ }}", "{{ (1).real }}", "{{ company.__len__() }}",
    "{{ company.__doc__ }}", "{{ '%s' % company }}", "{{ '%999999999s' % company }}",
    "{{ '{:>999999999}'.format(company) }}",
]
_REGEXES = ["(" * 1000 + ")" * 1000, "a{4294967296}", "a{1,4294967296}", "(?P<x>a)(?P<x>b)", "[", "(a*)*b",
            "\\", "(?<=a+)b", "a**", "x" * 100000, "(?i" + ")" * 3, "(" * 100 + "a" + ")" * 100,
            "[" + "a-z" * 20000 + "]", "a{65535}{65535}", "(?:a|b)" * 5000, "\\p{L}", "(?(1)a|b)", "\x00"]
_MODULES = [
    "raise RuntimeError('broken at import')\n",
    "import sys\nsys.exit(3)\n",
    "def get_weather(city: str) -> str\n    return city\n",
    "import no_such_module_xyz\n",
    "def __getattr__(name):\n    raise ValueError('no ' + name)\n",
    "class E(Exception):\n    def __str__(self):\n        raise ValueError('no str')\nraise E()\n",
    "import enum\nclass City(enum.Enum):\n    A = b'paris'\n    B = b'\\xff'\n"
    "def get_weather(city: City) -> str:\n    return 'x'\nasync def book_table(restaurant: City, time: str) -> str:\n"
    "    return 'x'\n",
    "import enum\nclass City(enum.Enum):\n    A = object()\ndef get_weather(city: City) -> str:\n    return 'x'\n"
    "async def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",
    "import enum\nclass City(enum.Enum):\n    A = float('nan')\n    B = (1, 2)\ndef get_weather(city: City) -> str:\n"
    "    return 'x'\nasync def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",
    "import typing\ndef get_weather(city: typing.Literal[b'x', 1j]) -> str:\n    return 'x'\n"
    "async def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",
    "def get_weather(city: [int]) -> str:\n    return 'x'\n"
    "async def book_table(restaurant: 'Nope', time: str) -> str:\n    return 'x'\n",
    "get_weather = 5\nbook_table = 'x'\n",
    "class C:\n    def __call__(self, city: str) -> str:\n        return city\n    @property\n"
    "    def __signature__(self):\n        raise ValueError('no sig')\nget_weather = C()\nbook_table = C()\n",
    "def get_weather(city: str) -> str:\n    return city\nget_weather.__signature__ = 5\n"
    "async def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",
    "def get_weather(city: str) -> str:\n    return city\nget_weather.__doc__ = 5\n"
    "async def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",
    "def f(n):\n    return f(n + 1)\nf(0)\n",
    "def get_weather(city: 'dict[int, str]') -> str:\n    return 'x'\n"
    "async def book_table(restaurant: 'list[' , time: str) -> str:\n    return 'x'\n",
    "def get_weather(city: str, /) -> str:\n    return 'x'\nasync def book_table(*a, **k):\n    return 'x'\n",
    "async def book_table(restaurant: str, time: str) -> str:\n    return 'x'\n",  # get_weather removed
    "\x00\n", "# -*- coding: latin-1 -*-\nx = '\xe9'\n",
]
_DICT_VALUES: list[Callable[[], Any]] = [
    lambda: {1: "a", "b": 2}, lambda: {None: 1, (1, 2): 2}, lambda: b"bytes", lambda: {1, 2},
    lambda: (1, 2), lambda: float("nan"), lambda: float("inf"), lambda: object(), lambda: 10**5000,
    lambda: "\ud800", lambda: "a\x00b", lambda: {"\ud800": 1}, lambda: [], lambda: {},
    lambda: _deep_list(5000), lambda: _deep_dict(5000), lambda: _shared(40), lambda: _self_ref(),
    lambda: {frozenset([1]): 1}, lambda: {True: 1, 1.5: 2}, lambda: range(10), lambda: type,
    lambda: {"kind": "agent", 5: "x"}, lambda: [_self_ref()],
]


def _deep_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _deep_dict(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def _shared(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value, value]  # 2**levels leaves, levels + 1 objects
    return value


def _self_ref() -> Any:
    data: dict[str, Any] = {"a": 1}
    data["self"] = data
    return data


def _nest_yaml(depth: int, rng: random.Random) -> str:
    kind = rng.choice(["flow-list", "flow-map", "block"])
    if kind == "flow-list":
        return "[" * depth + "]" * depth
    if kind == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    return "\n" + "".join(" " * (2 * (i + 1)) + "a:\n" for i in range(min(depth, 400))) + " " * 802 + "b: 1"


# -- text mutations ----------------------------------------------------------------------------

def _yaml_names(files: dict[str | bytes, bytes]) -> list[str | bytes]:
    return [n for n in files if (n if isinstance(n, str) else n.decode("latin-1")).endswith((".yaml", ".yml"))]


def _lines(files: dict[str | bytes, bytes], name: str | bytes) -> list[bytes]:
    return files[name].split(b"\n")


def _value_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if re.match(rb"^\s*(- )?[A-Za-z_]+:\s*\S", line)]


def _set_value(lines: list[bytes], i: int, value: str) -> None:
    head = re.match(rb"^(\s*(?:- )?[A-Za-z_]+:)", lines[i])
    assert head is not None
    indent = len(lines[i]) - len(lines[i].lstrip())
    value = value.replace("\n", "\n" + " " * (indent + 2))
    lines[i] = head.group(1) + b" " + value.encode("utf-8", "surrogatepass")


def _key_line(lines: list[bytes], key: bytes) -> int | None:
    for i, line in enumerate(lines):
        if re.match(rb"^\s*(- )?" + re.escape(key) + rb":", line):
            return i
    return None


def _text_mutation(kind: str, files: dict[str | bytes, bytes], rng: random.Random) -> str:
    names = _yaml_names(files)
    if not names:
        return kind + ":none"
    name = rng.choice(names)
    lines = _lines(files, name)
    label = kind
    if kind == "swap" and len(lines) > 1:
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    elif kind == "delete" and lines:
        del lines[rng.randrange(len(lines))]
    elif kind == "duplicate" and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind in ("retype", "huge", "nest") and (targets := _value_lines(lines)):
        i = rng.choice(targets)
        if kind == "retype":
            value = rng.choice(_SCALARS)
        elif kind == "huge":
            value = rng.choice(_HUGE)
        else:
            value = _nest_yaml(rng.choice([30, 200, 1000, 20000]), rng)
        label = f"{kind}:{value[:40]!r}"
        _set_value(lines, i, value)
    elif kind == "unicode" and lines:
        i = rng.randrange(len(lines))
        junk = rng.choice([b"\x00", b"\xff\xfe", b"\xed\xa0\x80", "\ud800".encode("utf-8", "surrogatepass"),
                           "\u202e\u2028\ufeff".encode(), b"\xef\xbb\xbf", "é😀".encode(), b"\r", b"\t"])
        pos = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + junk + lines[i][pos:]
        label = f"unicode:{junk!r}"
    elif kind == "anchors":
        variant = rng.choice(["laughs", "merge", "recursive", "alias-key", "merge-scalar", "merge-list"])
        label = f"anchors:{variant}"
        if variant == "laughs":
            lines.append(b"zz_laughs:\n  x0: &x0 lol")
            for level in range(1, 9):
                refs = ", ".join([f"*x{level - 1}"] * 9)
                lines.append(f"  x{level}: &x{level} [{refs}]".encode())
        elif variant == "recursive":
            lines.append(b"zz_rec: &r [*r]")
        elif variant == "alias-key":
            lines.append(b"zz_key: &k name\n*k : x")
        elif (targets := _value_lines(lines)) and variant == "merge":
            lines.insert(0, b"_base: &base {kind: agent, name: merged, tools: []}")
            lines.append(b"<<: *base")
        elif variant == "merge-scalar":
            lines.append(b"<<: 5")
        else:
            lines.append(b"<<: [*nothing, {a: 1}]")
    elif kind == "tag" and (targets := _value_lines(lines)):
        i = rng.choice(targets)
        tag = rng.choice(["!!python/object:os.system", "!!binary", "!!set", "!!omap", "!custom", "!!str",
                          "!!bool", "!!int", "!!float", "!!null", "!!timestamp", "!!merge", "!!map", "!!seq",
                          "!<tag:yaml.org,2002:python/none>", "!!python/name:os.system"])
        head = re.match(rb"^(\s*(?:- )?[A-Za-z_]+:\s*)(.*)$", lines[i])
        assert head is not None
        lines[i] = head.group(1) + tag.encode() + b" " + head.group(2)
        label = f"tag:{tag}"
    elif kind == "template":
        template = rng.choice(_TEMPLATES)
        label = f"template:{template[:40]!r}"
        i = _key_line(lines, b"instructions")
        quoted = '"' + template.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\0") + '"'
        if i is None:
            lines.append(b"instructions: " + quoted.encode("utf-8", "surrogatepass"))
        else:
            # a block scalar's continuation lines stay behind as (mostly harmless) extra lines
            _set_value(lines, i, quoted)
    elif kind == "regex":
        pattern = rng.choice(_REGEXES)
        label = f"regex:{pattern[:30]!r}"
        escaped = "'" + pattern.replace("'", "''") + "'"
        i = _key_line(lines, b"deny")
        if i is None:
            lines.append(b"output_guardrails:\n  - {name: fz, deny: [" + escaped.encode("utf-8", "surrogatepass")
                         + b"]}")
        else:
            _set_value(lines, i, "[" + escaped + "]")
    elif kind == "duration":
        value = rng.choice(["9" * 401, "1" + "0" * 400 + "s", "1e400", "99999999999999999999m", "0.0000001ms",
                            "-1", "1e-400", "1" + "0" * 5000])
        label = f"duration:{value[:20]}"
        i = _key_line(lines, b"timeout")
        if i is None:
            i = _key_line(lines, b"entrypoint")
            if i is None:
                return label + ":none"
            indent = b" " * (len(lines[i]) - len(lines[i].lstrip()))
            lines.insert(i + 1, indent.replace(b"-", b" ") + b"  timeout: " + value.encode())
        else:
            _set_value(lines, i, value)
    files[name] = b"\n".join(lines)
    return label


def _file_mutation(case: Case, rng: random.Random) -> str:
    variant = rng.choice(["non-utf8-name", "newline-name", "data-dir", "hidden", "long-name", "dir-yaml",
                          "dangling", "loop", "devnull", "dir-link", "empty", "comments", "dashes", "bom",
                          "all-empty", "all-comments", "big", "self-link", "latin1"])
    label = f"file:{variant}"
    if variant == "non-utf8-name":
        case.files[b"\xff\xfeagent.yaml"] = b"kind: agent\nname: odd\n"
    elif variant == "newline-name":
        case.files["new\nline.yaml"] = b"kind: agent\nname: nl\n"
    elif variant == "data-dir":
        case.dirs.append("..2026_01_01")
        case.files["..2026_01_01/x.yaml"] = b"kind: agent\nname: hidden\n"
        case.symlinks["..data"] = "..2026_01_01"
    elif variant == "hidden":
        case.files[".hidden.yaml"] = b"kind: graph\nstart: x\n"
    elif variant == "long-name":
        case.files["a" * 250 + ".yaml"] = b"kind: agent\nname: long\n"
    elif variant == "dir-yaml":
        case.dirs.append("folder.yaml")
    elif variant == "dangling":
        case.symlinks["dangling.yaml"] = "missing-target.yaml"
    elif variant == "loop":
        case.symlinks["loop_a.yaml"] = "loop_b.yaml"
        case.symlinks["loop_b.yaml"] = "loop_a.yaml"
    elif variant == "self-link":
        case.symlinks["self.yaml"] = "self.yaml"
    elif variant == "devnull":
        case.symlinks["null.yaml"] = os.devnull
    elif variant == "dir-link":
        case.symlinks["dirlink.yaml"] = "."
    elif variant == "empty":
        case.files["empty.yaml"] = b""
    elif variant == "comments":
        case.files["comments.yml"] = b"# nothing here\n# at all\n"
    elif variant == "dashes":
        case.files["dashes.yaml"] = b"---\n---\n...\n"
    elif variant == "bom":
        case.files["bom.yaml"] = b"\xef\xbb\xbf\xef\xbb\xbfkind: agent\nname: bom\n"
    elif variant in ("all-empty", "all-comments"):
        for name in _yaml_names(case.files):
            case.files[name] = b"" if variant == "all-empty" else b"# only a comment\n"
    elif variant == "big":
        case.files["big.yaml"] = b"kind: agent\nname: big\ninstructions: '" + b"x" * (1 << 20) + b"'\n"
    elif variant == "latin1":
        case.files["latin.yaml"] = "kind: agent\nname: caf\xe9\n".encode("latin-1")
    return label


def _module_mutation(case: Case, rng: random.Random) -> str:
    source = rng.choice(_MODULES)
    case.files[f"{MODULE}.py"] = source.encode("utf-8", "surrogatepass")
    return f"module:{source[:40]!r}"


def _dict_case(case: Case, rng: random.Random) -> None:
    import yaml

    seed = rng.choice(seed_folders())
    documents: list[Any] = []
    for name in _yaml_names(seed):  # type: ignore[arg-type]
        documents.extend(d for d in yaml.safe_load_all(seed[name]) if d is not None)
    for _ in range(rng.randint(1, 3)):
        value = rng.choice(_DICT_VALUES)()
        doc = rng.choice(documents) if documents else {}
        where = rng.choice(["new-key", "replace", "key", "nested", "document"])
        if where == "document":
            documents.append(value)
        elif where == "key" and isinstance(doc, dict):
            doc[rng.choice([1, None, 2.5, (1,), True, "\ud800", b"k"])] = value
        elif where == "replace" and isinstance(doc, dict) and doc:
            doc[rng.choice(sorted(doc, key=str))] = value
        elif where == "nested" and isinstance(doc, dict):
            for key in ("variables", "model_settings", "tools", "handoffs"):
                if isinstance(doc.get(key), dict):
                    doc[key][rng.choice(["x", 1, None])] = value
                    break
                if isinstance(doc.get(key), list) and doc[key]:
                    doc[key][0] = value
                    break
            else:
                doc["zz"] = value
        elif isinstance(doc, dict):
            doc[rng.choice(["zz", "name", "kind", "start", "instructions", "variables"])] = value
        case.mutations.append(f"dict:{where}")
    case.documents = documents


_TEXT_KINDS = ["swap", "delete", "duplicate", "retype", "huge", "nest", "unicode", "anchors", "tag", "template",
               "regex", "duration"]


def make_case(seed: int, index: int) -> Case:
    """Case ``index`` of the stream ``seed``: the same pair always gives the same case."""
    rng = random.Random(f"{seed}:{index}")
    case = Case(index=index, mutations=[])
    if rng.random() < 0.12:
        _dict_case(case, rng)
        return case
    case.files = dict(rng.choice(seed_folders()))
    for _ in range(rng.choice([1, 1, 2, 3])):
        roll = rng.random()
        if roll < 0.75:
            case.mutations.append(_text_mutation(rng.choice(_TEXT_KINDS), case.files, rng))
        elif roll < 0.88:
            case.mutations.append(_file_mutation(case, rng))
        else:
            case.mutations.append(_module_mutation(case, rng))
    return case


def write_case(case: Case, folder: Path) -> None:
    """Write ``case``'s files, directories and symlinks into the (empty, existing) ``folder``."""
    base = os.fsencode(folder)
    for d in case.dirs:
        os.makedirs(os.path.join(base, os.fsencode(d)), exist_ok=True)
    for name, content in case.files.items():
        path = os.path.join(base, name if isinstance(name, bytes) else os.fsencode(name))
        with open(path, "wb") as f:
            f.write(content)
    for link, target in case.symlinks.items():
        os.symlink(target, os.path.join(base, os.fsencode(link)))
