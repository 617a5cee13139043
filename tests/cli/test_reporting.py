"""How each error that ends ``rtgraph run`` is explained: the exact text and exit code."""

from __future__ import annotations

import pytest

from realtime_graph.cli.reporting import EXIT_ERROR, EXIT_INTERNAL, UserFacingError, explain
from realtime_graph.errors import (
    ConfigError,
    ConnectError,
    ConnectionLost,
    Issue,
    SessionError,
    Severity,
    TransportError,
)

ISSUES = [Issue(code="RG111", message="unknown key 'voice'", file="agents.d/a.yaml", line=6, column=1,
                hint="remove it"),
          Issue(code="RG502", message="environment variable KEY is not set and has no default",
                severity=Severity.WARNING, file="agents.d/graph.yaml", line=3, column=12)]

CASES = [
    (ConnectionLost("realtime connection closed abnormally (code 1011: boom)", code=1011, reason="boom"),
     "connection lost: realtime connection closed abnormally (code 1011: boom)", EXIT_ERROR),
    (ConnectError("realtime handshake with wss://x/v1/realtime rejected: HTTP 401 (check the API key or headers)",
                  status=401),
     "could not connect: realtime handshake with wss://x/v1/realtime rejected: HTTP 401 "
     "(check the API key or headers)", EXIT_ERROR),
    (TransportError("the realtime server sent a frame that is not JSON: x"),
     "transport error: the realtime server sent a frame that is not JSON: x", EXIT_ERROR),
    (SessionError("the connection closed before the session became idle"),
     "session failed: the connection closed before the session became idle", EXIT_ERROR),
    (ConfigError(ISSUES),
     "invalid definitions:\n"
     "agents.d/a.yaml:6:1: error RG111: unknown key 'voice'\n"
     "  hint: remove it\n"
     "agents.d/graph.yaml:3:12: warning RG502: environment variable KEY is not set and has no default\n"
     "1 error, 1 warning", EXIT_ERROR),
    (UserFacingError("x.wav: not a readable WAV file (file does not start with RIFF id)"),
     "x.wav: not a readable WAV file (file does not start with RIFF id)", EXIT_ERROR),
    (FileNotFoundError(2, "No such file or directory", "call.jsonl"),
     "No such file or directory 'call.jsonl'", EXIT_ERROR),
    (KeyError("oops"), "internal error: KeyError: 'oops' (please report this)", EXIT_INTERNAL),
]


@pytest.mark.parametrize(("error", "message", "code"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_explain(error: BaseException, message: str, code: int) -> None:
    assert explain(error) == (message, code)
