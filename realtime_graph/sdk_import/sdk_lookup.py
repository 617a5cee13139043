"""Finding the user's Python objects: the ``MODULE:NAME`` target, and the ``module:attribute``
that names each SDK object (tool, guardrail, callable) so the written YAML can point back at it.

Nothing here imports the OpenAI Agents SDK; callers pass the SDK types they need.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterable
from functools import partial
from types import ModuleType
from typing import Any

from ..errors import RealtimeGraphError

__all__ = ("ObjectLocator", "SdkImportError", "closure_values", "load_target")


class SdkImportError(RealtimeGraphError):
    """``rtgraph import`` cannot start: the target is missing or is not what it must be."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_target(target: str, *, what: str) -> tuple[ModuleType, Any]:
    """Import ``MODULE:NAME`` (the working directory first on ``sys.path``, as ``python -m`` does)
    and return the module and the attribute.

    :raises SdkImportError: malformed target, module not found or failing, attribute missing.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr or not all(p.isidentifier() for p in module_name.split(".")) \
            or not all(p.isidentifier() for p in attr.split(".")):
        raise SdkImportError(f"{what} {target!r} is not MODULE:NAME (e.g. my_app.agents:triage_agent)")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise SdkImportError(
                f"module {module_name!r} not found (looked in {cwd} and sys.path; "
                "run from the folder that holds it or set PYTHONPATH)") from None
        raise SdkImportError(f"module {module_name!r} failed to import: {_one_line(exc)}") from None
    except Exception as exc:  # user code: any failure is one line, never a traceback
        raise SdkImportError(f"module {module_name!r} failed to import: {_one_line(exc)}") from None
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise SdkImportError(f"module {module_name!r} has no attribute {attr!r}") from None
    return module, value


def closure_values(fn: Any) -> dict[str, Any]:
    """The variables a closure captured (through ``functools.partial`` wrappers), or ``{}``.

    The SDK's ``realtime_handoff`` keeps ``agent``, ``on_handoff``, ``input_type`` and
    ``is_enabled`` only in the closures of the functions it builds; this reads them back.
    """
    seen = 0
    while isinstance(fn, partial) and seen < 8:
        inner = [a for a in fn.args if inspect.isfunction(a)]
        fn = inner[0] if inner else fn.func
        seen += 1
    if not inspect.isfunction(fn):
        return {}
    try:
        return dict(inspect.getclosurevars(fn).nonlocals)
    except (TypeError, ValueError):
        return {}


class ObjectLocator:
    """Finds ``module:attribute`` names for objects among the user's modules.

    A candidate module is one the user handed us (the agent's and the run config's modules) or
    the defining module of a function involved (``obj.__module__``, a FunctionTool's
    ``__wrapped__``). Library modules (the SDK, pydantic, the standard library) never count:
    an entrypoint must name the user's own object.
    """

    def __init__(self, modules: Iterable[ModuleType] = ()) -> None:
        self._modules: list[ModuleType] = []
        for module in modules:
            self.add(module)
        self.used_modules: set[str] = set()

    def add(self, module: ModuleType) -> None:
        if module not in self._modules and self._is_user_module(module.__name__):
            self._modules.append(module)

    @staticmethod
    def _is_user_module(name: str) -> bool:
        top = name.split(".")[0]
        return name != "__main__" and top not in {"agents", "openai", "pydantic", "typing", "builtins",
                                                  "realtime_graph"} and top not in sys.stdlib_module_names

    def _candidates(self, obj: Any) -> list[ModuleType]:
        names = [getattr(obj, "__module__", None)]
        try:
            wrapped = getattr(obj, "__wrapped__", None)  # FunctionTool made by @function_tool
        except Exception:  # the SDK's descriptor raises for tools it did not build from a function
            wrapped = None
        names.append(getattr(wrapped, "__module__", None))
        guard_fn = getattr(obj, "guardrail_function", None)  # OutputGuardrail
        names.append(getattr(guard_fn, "__module__", None))
        found = [sys.modules[n] for n in names if isinstance(n, str) and n in sys.modules
                 and self._is_user_module(n)]
        return [*dict.fromkeys([*found, *self._modules])]

    def find(self, obj: Any, *, prefer: str | None = None) -> str | None:
        """``module:attribute`` whose value *is* ``obj``, or None when no user module holds it.

        Among several names, ``prefer`` (e.g. the function's own name) wins, then public names.
        """
        if obj is None:
            return None
        for module in self._candidates(obj):
            names = [name for name, value in vars(module).items() if value is obj]
            if not names:
                continue
            names.sort(key=lambda n: (n != prefer, n.startswith("_"), n))
            self.add(module)
            self.used_modules.add(module.__name__)
            return f"{module.__name__}:{names[0]}"
        return None
