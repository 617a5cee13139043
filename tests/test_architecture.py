"""The layering in docs/architecture.md, enforced: lower layers never import higher ones, and each
third-party library is touched only by the module that owns its boundary."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import realtime_graph

PACKAGE_DIR = Path(realtime_graph.__file__).parent

# package area -> areas it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "redaction": set(),
    "_lazy": set(),
    "audio": set(),
    "graph": {"errors"},
    "config": {"errors", "graph"},
    "transports": {"errors", "audio", "redaction", "_lazy"},
    "runtime": {"errors", "graph", "audio", "redaction", "transports.base", "transports.protocol"},
    "reload": {"errors", "graph", "config"},
    "scenarios": {"errors", "graph", "audio", "redaction", "config", "runtime", "transports"},
    "serve": {"errors", "graph", "audio", "redaction", "_lazy", "config", "transports", "runtime", "reload",
              "telephony"},
    "telephony": {"errors", "audio", "redaction", "graph", "config", "transports", "runtime"},
    "sdk_import": {"errors"},
    "cli": {"*"},
    "__init__": {"*"},
    "__main__": {"cli"},
}

# third-party module -> package areas allowed to import it
THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "yaml": ("config", "transports.simulator", "cli", "scenarios", "sdk_import"),
    "jsonschema": ("config", "scenarios"),
    "jinja2": ("config",),
    "websockets": ("transports.openai", "transports.simulator", "telephony.fakes"),
    "httpx2": ("telephony",),
    "h11": ("telephony.fakes",),
    "watchfiles": ("reload",),
    "click": ("cli",),
    "starlette": ("serve.serve_app", "serve.browser_channel", "serve.sip_channel", "serve.twilio_channel",
                  "serve.twilio_call"),
    "uvicorn": ("serve.serve_host",),
    "prometheus_client": ("serve.serve_metrics",),
    "agents": ("config.sdk_objects", "sdk_import"),  # openai-agents (the `sdk` extra): SDK objects, `rtgraph import`
    "pydantic": ("config.typeschema", "telephony.fakes"),  # not a dependency: only for models the user names
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"] or ["__init__"]
        out.append((".".join(parts), path))
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Absolute module names imported by a module (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = ["realtime_graph", *name.split(".")] if name != "__init__" else ["realtime_graph"]
    if not is_pkg:
        base = base[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                mod = ".".join(anchor + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # "from pkg import submodule" imports the submodule, not just the package
            submodules = [f"{mod}.{a.name}" for a in node.names if _is_module(f"{mod}.{a.name}")]
            found.update(submodules or [mod])
    return found


def _is_module(dotted: str) -> bool:
    if not dotted.startswith("realtime_graph."):
        return False
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE_DIR / rel).with_suffix(".py").exists() or (PACKAGE_DIR / rel / "__init__.py").exists()


def _area(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "transports" and len(parts) > 1:
        return f"transports.{parts[1]}"
    return parts[0]


def _allowed(importer: str, target: str) -> bool:
    rules = ALLOWED[importer.split(".")[0]]
    if "*" in rules or target.split(".")[0] == importer.split(".")[0]:
        return True
    return any(target == r or target.startswith(r + ".") for r in rules)


@pytest.mark.parametrize(("name", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_layering(name: str, path: Path) -> None:
    bad = []
    for imported in _imports(name, path):
        if imported.startswith("realtime_graph."):
            target = imported.removeprefix("realtime_graph.")
            if not _allowed(name, target):
                bad.append(imported)
            continue
        top = imported.split(".")[0]
        owners = THIRD_PARTY.get(top)
        if owners is not None and not any(_area(name) == o or _area(name).startswith(o + ".")
                                          or name.startswith(o) for o in owners):
            bad.append(imported)
    assert not bad, f"{name} imports {sorted(bad)} across a layer boundary (docs/architecture.md)"


def test_every_module_declares_all() -> None:
    missing = []
    for info in pkgutil.walk_packages(realtime_graph.__path__, "realtime_graph."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if not hasattr(module, "__all__"):
            missing.append(info.name)
    assert not missing, f"modules without __all__: {missing}"


def test_top_level_exports_resolve_and_are_sorted() -> None:
    names = list(realtime_graph.__all__)
    assert names == sorted(names, key=str.casefold)
    for name in names:
        assert getattr(realtime_graph, name) is not None


def test_telephony_uses_only_the_public_runtime_api() -> None:
    """runtime internals are being redesigned: telephony imports `realtime_graph.runtime` itself only."""
    bad = []
    for name, path in _modules():
        if name.startswith("telephony"):
            bad += [f"{name} -> {m}" for m in _imports(name, path) if m.startswith("realtime_graph.runtime.")]
    assert not bad, bad


def test_module_names_do_not_repeat_across_packages() -> None:
    """A module name means one thing: ``session.py`` in two packages makes every traceback,
    import and review ambiguous (package ``__init__``/``__main__`` files aside)."""
    seen: dict[str, list[str]] = {}
    for path in sorted(Path(realtime_graph.__file__).parent.rglob("*.py")):
        if path.name not in ("__init__.py", "__main__.py"):
            seen.setdefault(path.name, []).append(str(path.relative_to(Path(realtime_graph.__file__).parent)))
    repeated = {name: places for name, places in seen.items() if len(places) > 1}
    assert not repeated, f"module names used in more than one package: {repeated}"
