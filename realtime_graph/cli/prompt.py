"""Terminal input for ``rtgraph run``: lines from stdin, and tool approvals asked at the prompt.

stdin is read without threads: on a terminal or a pipe we wait for readability on the event loop
(so Ctrl-C and shutdown cancel the read at once); a regular file (``< file``) never blocks and is
read directly. A terminal in canonical mode hands us whole lines and does the echo and editing.

Approval policy:

- interactive (stdin is a terminal): each ``tool_approval_required`` is asked in turn and the next
  line typed answers it: ``a`` approve once, ``A`` approve always, ``r [reason]`` reject (the
  reason is what the model is told). Other input re-asks. At end of input (Ctrl-D) nobody can
  answer any more: open questions are rejected and the desk turns non-interactive.
- non-interactive (``--say`` or piped stdin): nobody can answer, so calls are rejected with a
  model-visible reason, unless ``--approve-all`` was given. Rejecting keeps scripts safe by
  default: a CI run never executes a tool that a human was meant to confirm.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
from anyio.lowlevel import checkpoint

from .console import Console

if TYPE_CHECKING:
    from ..runtime.events import ToolApprovalRequiredEvent

__all__ = ("NON_INTERACTIVE_REJECTION", "ApprovalDesk", "read_lines")

NON_INTERACTIVE_REJECTION = "The user could not be asked to approve this tool call (non-interactive run)."
_CHUNK = 65536


async def read_lines(fd: int) -> AsyncIterator[str]:
    """Decoded lines (without the newline) from ``fd`` until end of input."""
    regular_file = stat.S_ISREG(os.fstat(fd).st_mode)
    pending = b""
    while True:
        if regular_file:
            await checkpoint()
        else:
            await anyio.wait_readable(fd)
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace").rstrip("\r")


class ApprovalDesk:
    """Answers ``tool_approval_required`` events according to the policy in the module doc."""

    def __init__(self, session: object, console: Console, *, interactive: bool, approve_all: bool) -> None:
        self._session = session
        self._console = console
        self._interactive = interactive
        self._approve_all = approve_all
        self._waiting: deque[ToolApprovalRequiredEvent] = deque()

    @property
    def asking(self) -> bool:
        """True while the next typed line is the answer to an approval question."""
        return bool(self._waiting)

    async def required(self, event: ToolApprovalRequiredEvent) -> None:
        session = self._session
        if self._approve_all:
            self._console.line(f"* tool {event.tool} approved (--approve-all)")
            await session.approve_tool_call(event.call_id)  # type: ignore[attr-defined]
        elif not self._interactive:
            self._console.line(f"* tool {event.tool} needs approval: rejected "
                               "(non-interactive run; pass --approve-all to approve)")
            await session.reject_tool_call(event.call_id, message=NON_INTERACTIVE_REJECTION)  # type: ignore[attr-defined]
        else:
            self._waiting.append(event)
            if len(self._waiting) == 1:
                self._ask()

    async def answer(self, text: str) -> None:
        """Apply a typed answer to the oldest open question (re-asks on anything else)."""
        event = self._waiting[0]
        choice, _, reason = text.strip().partition(" ")
        session = self._session
        if choice in ("a", "y", "yes"):
            await session.approve_tool_call(event.call_id)  # type: ignore[attr-defined]
            self._console.line(f"* tool {event.tool} approved once")
        elif choice == "A":
            await session.approve_tool_call(event.call_id, always=True)  # type: ignore[attr-defined]
            self._console.line(f"* tool {event.tool} approved for the rest of the session")
        elif choice in ("r", "n", "no"):
            await session.reject_tool_call(event.call_id, message=reason.strip() or None)  # type: ignore[attr-defined]
            self._console.line(f"* tool {event.tool} rejected" + (f": {reason.strip()}" if reason.strip() else ""))
        else:
            self._ask()
            return
        self._waiting.popleft()
        if self._waiting:
            self._ask()

    async def end_of_input(self) -> None:
        """stdin ended: reject every open question (a parked call would keep the session busy
        forever) and answer later ones as a non-interactive run does."""
        self._interactive = False
        while self._waiting:
            event = self._waiting.popleft()
            await self._session.reject_tool_call(event.call_id, message=NON_INTERACTIVE_REJECTION)  # type: ignore[attr-defined]
            self._console.line(f"* tool {event.tool} rejected (input closed)")

    def _ask(self) -> None:
        event = self._waiting[0]
        self._console.line(f"? approve tool {event.tool} {event.arguments}? "
                           "[a] once  [A] always  [r reason] reject")
