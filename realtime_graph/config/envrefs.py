"""``${ENV}`` / ``${ENV:-default}`` references: syntax checks and :class:`Secret` construction."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..graph.model import ENV_REFERENCE, Secret
from .issues import IssueSink
from .yamlsource import Document, JsonPath

__all__ = ("CREDENTIAL_NAME", "has_reference", "literal_default", "references_credential", "to_secret")

CREDENTIAL_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
"""A variable name that looks like a credential (``OPENAI_API_KEY``, ``DB_PASSWORD``)."""
_ANY_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def references_credential(text: str) -> bool:
    """True when ``text`` references (anywhere, defaults included) a credential-like variable."""
    return any(CREDENTIAL_NAME.search(name) for name in _ANY_REFERENCE.findall(text))


def literal_default(text: str) -> bool:
    """True when a reference in ``text`` has a literal (non-reference) ``:-default``: in a secret
    position that default is a literal secret that would be used whenever the variable is unset."""
    return any(m.group(2) and not m.group(2).startswith("${") for m in ENV_REFERENCE.finditer(text))


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
