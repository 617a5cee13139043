"""Output guardrails: when to check the assistant's text, and running one check.

:class:`GuardrailWindow` accumulates the transcript/text of each output item and says when an
entrypoint check is due: every ``debounce`` characters (jumping to the highest threshold one big
delta crossed) and once more on the complete text when the item's transcript/text is done — the
SDK never checks that tail, so a short forbidden answer slips through there; here it does not.

Built-in ``deny`` guardrails are regular expressions checked inline on every delta (microseconds,
no task), so the audio that follows the offending words is suppressed before it reaches the
player; entrypoint guardrails are user code, debounced, and run as tasks (see ``interrupts.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..graph.model import CallContext, Guardrail, GuardrailResult
from .tools import call_entrypoint

__all__ = ("GuardrailWindow", "check_deny", "run_guardrail")


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

    def feed(self, response_id: str, item_id: str, delta: str) -> tuple[str, bool]:
        """Add a delta; returns the accumulated text and whether a debounce threshold was crossed."""
        state = self._items.get(item_id)
        if state is None:
            state = self._items[item_id] = _ItemText(response_id, next_check=self.debounce)
        state.text += delta
        size = len(state.text)
        if self.debounce <= 0 or size < state.next_check:
            return state.text, False
        state.next_check = (size // self.debounce + 1) * self.debounce
        state.checked_len = size
        return state.text, True

    def finish(self, item_id: str, final_text: str | None) -> tuple[str, str] | None:
        """The item's text is complete: ``(response_id, text)`` if it has an unchecked tail."""
        state = self._items.pop(item_id, None)
        if state is None:
            return None
        text = final_text if final_text and len(final_text) >= len(state.text) else state.text
        if len(text) <= state.checked_len:
            return None
        return state.response_id, text

    def drop_response(self, response_id: str) -> None:
        """Forget the items of a finished or tripped response."""
        for item_id in [k for k, v in self._items.items() if v.response_id == response_id]:
            del self._items[item_id]


def check_deny(guardrail: Guardrail, text: str) -> GuardrailResult | None:
    """The result of a built-in ``deny`` guardrail: tripped with the matched text, or None."""
    for pattern in guardrail.deny:
        match = pattern.search(text)
        if match is not None:
            return GuardrailResult(True, {"pattern": pattern.pattern, "match": match.group(0)},
                                   guardrail.name)
    return None


async def run_guardrail(guardrail: Guardrail, text: str, context: CallContext) -> GuardrailResult:
    """Run an entrypoint guardrail; a bare bool/None return is normalised. Exceptions propagate."""
    assert guardrail.entrypoint is not None
    value: Any = await call_entrypoint(guardrail.entrypoint, text, context)
    if isinstance(value, GuardrailResult):
        if value.guardrail:
            return value
        return GuardrailResult(value.tripwire_triggered, value.info, guardrail.name)
    return GuardrailResult(bool(value), None, guardrail.name)
