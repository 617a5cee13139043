"""Output guardrails: when to check the assistant's text, and running one check.

:class:`GuardrailWindow` accumulates the transcript/text of each output item and says when an
entrypoint check is due: every ``debounce`` characters (jumping to the highest threshold one big
delta crossed) and once more on the complete text when the item's transcript/text is done — the
SDK never checks that tail, so a short forbidden answer slips through there; here it does not.

Built-in ``deny`` guardrails are regular expressions checked inline on every delta (microseconds,
no task), so the audio that follows the offending words is suppressed before it reaches the
player; entrypoint guardrails are user code, debounced, and run as tasks (see ``turns.py``).
A per-delta scan covers only the new text plus :data:`DENY_OVERLAP` characters before it (so a
long answer costs linear time, not quadratic); the complete text is scanned once more at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph.model import CallContext, Guardrail, GuardrailResult
from .tools import call_entrypoint

__all__ = ("DENY_OVERLAP", "VERDICT_TYPES", "GuardrailWindow", "check_deny", "run_guardrail", "verdict")

DENY_OVERLAP = 256
"""Characters before a new delta that a per-delta ``deny`` scan re-reads (longest live match)."""


@dataclass(slots=True)
class _ItemText:
    response_id: str
    text: str = ""
    next_check: int = 0
    checked_len: int = 0


@dataclass(slots=True)
class GuardrailWindow:
    """Per-item text accumulation and check scheduling for the current responses."""

    debounce: int
    _items: dict[str, _ItemText] = field(default_factory=dict)

    def feed(self, response_id: str, item_id: str, delta: str) -> tuple[str, int, bool]:
        """Add a delta. Returns the accumulated text, where a ``deny`` scan should start, and
        whether a debounce threshold was crossed (an entrypoint check is due)."""
        state = self._items.get(item_id)
        if state is None:
            state = self._items[item_id] = _ItemText(response_id, next_check=self.debounce)
        start = max(0, len(state.text) - DENY_OVERLAP)
        state.text += delta
        size = len(state.text)
        if self.debounce <= 0 or size < state.next_check:
            return state.text, start, False
        state.next_check = (size // self.debounce + 1) * self.debounce
        state.checked_len = size
        return state.text, start, True

    def finish(self, item_id: str, final_text: str | None) -> tuple[str, str] | None:
        """The item's text is complete: ``(response_id, text)`` if it has an unchecked tail."""
        state = self._items.pop(item_id, None)
        if state is None:
            return None
        text = final_text if final_text and len(final_text) >= len(state.text) else state.text
        if len(text) <= state.checked_len:
            return None
        return state.response_id, text

    def finish_response(self, response_id: str) -> list[str]:
        """The response ended: the unchecked tails of its items that never got a ``done``."""
        tails = []
        for item_id in [k for k, v in self._items.items() if v.response_id == response_id]:
            tail = self.finish(item_id, None)
            if tail is not None:
                tails.append(tail[1])
        return tails

    def drop_response(self, response_id: str) -> None:
        """Forget the items of a finished or tripped response."""
        for item_id in [k for k, v in self._items.items() if v.response_id == response_id]:
            del self._items[item_id]


def check_deny(guardrail: Guardrail, text: str, *, start: int = 0,
               final: bool = True) -> GuardrailResult | None:
    """The result of a built-in ``deny`` guardrail on ``text[start:]``: tripped, or None.

    On partial text (``final=False``) a match that ends at the very end of the text inside a
    word is trusted only if it would survive the word going on: ``\bpass\b`` on "my pass" waits
    for the next delta (it may be "password"), ``password`` on "my password" trips at once.
    """
    for pattern in guardrail.deny:
        for match in pattern.finditer(text, start):
            if (not final and match.end() == len(text) and text[-1:].isalnum()
                    and pattern.match(text + "a", match.start()) is None):
                continue
            return GuardrailResult(True, {"pattern": pattern.pattern, "match": match.group(0)},
                                   guardrail.name)
    return None


VERDICT_TYPES = "GuardrailResult, bool, None or an object with a boolean tripwire_triggered"
"""What an entrypoint guardrail may return (the SDK's ``GuardrailFunctionOutput`` is such an object)."""


def verdict(name: str, value: object) -> GuardrailResult | str:
    """A guardrail's return value as a result named ``name``, or why it is not a verdict.

    ``GuardrailResult``, ``bool`` and ``None`` (not tripped) are read as they are; any other object
    counts when its ``tripwire_triggered`` is a bool (its ``output_info`` becomes the info). Other
    values are never guessed with ``bool()``: the caller reports the returned text and treats
    the check as not tripped.
    """
    if isinstance(value, GuardrailResult):
        return value if value.guardrail else GuardrailResult(value.tripwire_triggered, value.info, name)
    if value is None or isinstance(value, bool):
        return GuardrailResult(bool(value), None, name)
    tripped = getattr(value, "tripwire_triggered", None)
    if isinstance(tripped, bool):
        return GuardrailResult(tripped, getattr(value, "output_info", None), name)
    what = type(value).__name__
    if tripped is not None:
        what += f" whose tripwire_triggered is {type(tripped).__name__}"
    return (f"guardrail {name!r} returned {what}; expected {VERDICT_TYPES}. "
            f"Counted as not tripped")


async def run_guardrail(guardrail: Guardrail, text: str, context: CallContext) -> object:
    """Run an entrypoint guardrail and return what it returned (see :func:`verdict`).
    Exceptions propagate."""
    assert guardrail.entrypoint is not None
    value: object = await call_entrypoint(guardrail.entrypoint, text, context)
    return value
