"""Exit codes of ``rtgraph`` and the one-line explanations of the errors that end a session.

Users never see a traceback for their own mistakes (bad definitions, unreachable server, missing
audio device, unreadable WAV); each maps to one line and exit code 1, except invalid definitions,
which list every located issue (as ``rtgraph validate`` does). Anything we did not expect
is still one line (naming the exception) but exit code 3, so scripts can tell a bug from a
mistake.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError, ConnectError, ConnectionLost, RealtimeGraphError, SessionError, TransportError

__all__ = ("EXIT_ERROR", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "UserFacingError", "explain", "reported")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class UserFacingError(RealtimeGraphError):
    """A mistake the CLI detected itself (bad WAV, missing audio device, unwritable file)."""


def explain(exc: BaseException) -> tuple[str, int]:
    """``(message, exit code)`` for an error that ends ``rtgraph run``."""
    if isinstance(exc, ConnectionLost):  # the message already names the close code and reason
        return f"connection lost: {exc}", EXIT_ERROR
    if isinstance(exc, ConnectError):
        return f"could not connect: {exc}", EXIT_ERROR
    if isinstance(exc, TransportError):
        return f"transport error: {exc}", EXIT_ERROR
    if isinstance(exc, SessionError):
        return f"session failed: {exc}", EXIT_ERROR
    if isinstance(exc, ConfigError):
        from ..config import render_issues

        return f"invalid definitions:\n{render_issues(exc.issues, 'text')}", EXIT_ERROR
    if isinstance(exc, RealtimeGraphError):
        return str(exc), EXIT_ERROR
    if isinstance(exc, OSError):
        where = f" {exc.filename!r}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", EXIT_ERROR
    return f"internal error: {type(exc).__name__}: {exc} (please report this)", EXIT_INTERNAL


def reported(command: str, start: Callable[[], int]) -> int:
    """Run ``start`` and turn whatever ends it into ``rtgraph <command>: <one line>`` and an exit code.

    Task groups wrap failures in ExceptionGroups; the user needs the first real cause.
    """
    import sys

    import click

    try:
        return start()
    except KeyboardInterrupt:  # Ctrl-C before the command's own handler or during shutdown
        return EXIT_INTERRUPTED
    except Exception as exc:
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]
        message, code = explain(cause)
        sys.stdout.flush()
        click.echo(f"rtgraph {command}: {message}", err=True)
        return code
