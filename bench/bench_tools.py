"""Trivial tool used by the session benchmark (imported by the generated bench graph)."""


def ping() -> str:
    """Reply pong."""
    return "pong"
