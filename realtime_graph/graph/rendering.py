"""Rendering instructions within a time and size budget (for the runtime, at every render).

The loader refuses statically what it can (see ``config/templates.py``), and its sandbox bounds
the size of every operator, filter and namespace value. What only running can show, a loop
nest that takes minutes, is bounded here: :func:`render_instructions` counts the template's
own Python lines while it renders (a per-thread trace function active only for the call) and
stops at ``max_seconds``, and it stops collecting output past ``max_chars``.
Stdlib only: the compiled template is whatever the loader stored on the
:class:`~realtime_graph.graph.model.InstructionTemplate`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

from ..errors import TemplateRenderError

__all__ = ("MAX_RENDER_CHARS", "MAX_RENDER_SECONDS", "render_instructions")

MAX_RENDER_CHARS = 1_000_000
"""Longest rendered instructions (characters); also the bound on any one value a template builds."""
MAX_RENDER_SECONDS = 0.5
"""Default time budget for one render."""
_CHECK_EVERY = 256  # trace events between clock reads


class _OverBudget(Exception):
    pass


def render_instructions(template: Any, values: Mapping[str, Any], *, max_seconds: float = MAX_RENDER_SECONDS,
                        max_chars: int = MAX_RENDER_CHARS) -> str:
    """``template`` (an :class:`InstructionTemplate`) rendered with ``values``, bounded.

    :raises TemplateRenderError: the template failed (a missing variable, a sandbox refusal),
        ran past ``max_seconds`` or produced more than ``max_chars`` characters. The message
        says which; it never contains variable values.
    """
    if getattr(template, "entrypoint", None) is not None:
        raise TemplateRenderError(f"instructions {template.source!r} are an entrypoint called by the session "
                                  "for each session.update, not a template")
    compiled = getattr(template, "compiled", None)
    if compiled is None:
        return str(template.source)
    deadline = time.monotonic() + max_seconds
    events = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal events
        events += 1
        if events % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            raise _OverBudget
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        # only the template's own code is traced: everything else runs at full speed
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    chunks: list[str] = []
    size = 0
    sys.settrace(global_)
    try:
        for chunk in compiled.generate(dict(values)):
            size += len(chunk)
            if size > max_chars:
                raise TemplateRenderError(f"instructions are longer than {max_chars} characters")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _OverBudget
    except _OverBudget:
        raise TemplateRenderError(f"instructions took longer than {max_seconds:g}s to render") from None
    except TemplateRenderError:
        raise
    except RecursionError:
        raise TemplateRenderError("instructions failed to render: recursion too deep") from None
    except MemoryError:
        raise TemplateRenderError("instructions failed to render: out of memory") from None
    except Exception as exc:  # jinja2 errors (undefined, sandbox refusals) are translated here
        raise TemplateRenderError(f"instructions failed to render: {exc}") from exc
    finally:
        sys.settrace(previous)
    return "".join(chunks)
