"""``${ENV}`` / ``${ENV:-default}`` references: syntax checks and :class:`Secret` construction."""

from __future__ import annotations

from collections.abc import Mapping

from ..graph.model import ENV_REFERENCE, Secret
from .issues import IssueSink
from .yamlsource import Document, JsonPath

__all__ = ("has_reference", "to_secret")


def has_reference(text: str) -> bool:
    """True when ``text`` mentions ``${`` at all (well-formed or not)."""
    return "${" in text


def to_secret(text: str, doc: Document, path: JsonPath, sink: IssueSink,
              environ: Mapping[str, str]) -> Secret | None:
    """``text`` as a :class:`Secret`; malformed references are errors, unset names warnings."""
    position = 0
    while (start := text.find("${", position)) != -1:
        match = ENV_REFERENCE.match(text, start)
        if match is None:
            sink.add("RG501", "malformed environment reference", doc, path,
                     hint="write ${NAME} or ${NAME:-default}; NAME is letters, digits and _")
            return None
        position = match.end()
    secret = Secret(text)
    for name in secret.missing(environ):
        sink.add("RG502", f"environment variable {name} is not set and has no default", doc, path,
                 hint=f"export {name}=... or write ${{{name}:-default}}")
    return secret
