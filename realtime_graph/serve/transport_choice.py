"""Which transport a graph runs on: the one rule shared by ``rtgraph run`` and ``rtgraph serve``.

``--transport`` if given, else the graph file's ``transport.type``, else the OpenAI API when a key
(``$OPENAI_API_KEY``, a configured ``transport.api_key``/``headers``) or a ``--url`` is configured,
else the embedded simulator (and a notice saying so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import RealtimeGraphError

if TYPE_CHECKING:
    from ..graph.model import Graph
    from ..transports.base import Transport

__all__ = ("SIMULATOR_NOTICE", "TransportChoiceError", "choose_transport")

SIMULATOR_NOTICE = ("rtgraph: no OpenAI API key configured; running on the built-in simulator "
                    "(set OPENAI_API_KEY or pass --transport openai for the real API)")


class TransportChoiceError(RealtimeGraphError):
    """The chosen transport cannot work as configured (an unset ``${ENV}`` credential)."""


def choose_transport(graph: Graph, *, transport: str | None, url: str | None, sim_speed: float,
                     environ: Mapping[str, str]) -> tuple[Transport, str | None]:
    """The transport to run on and, when the simulator was chosen implicitly, the notice to print.

    :raises TransportChoiceError: the OpenAI transport was chosen but a ``${ENV}`` reference of
        ``transport.api_key``/``transport.headers`` is unset (a handshake without it would only
        fail with an opaque HTTP 401).
    """
    from ..graph.model import Secret

    settings = graph.transport
    secrets = {f"transport.headers.{name}": value for name, value in settings.headers.items()
               if isinstance(value, Secret)}
    if settings.api_key is not None:
        secrets["transport.api_key"] = settings.api_key
    missing = {field: names for field, secret in secrets.items() if (names := secret.missing(environ))}
    kind = transport or settings.type
    notice = None
    if kind is None:
        configured = (bool(environ.get("OPENAI_API_KEY")) or bool(settings.headers) or url or settings.url
                      or (settings.api_key is not None and "transport.api_key" not in missing))
        kind = "openai" if configured else "simulator"
        notice = SIMULATOR_NOTICE if kind == "simulator" else None
    if kind == "simulator":
        from ..transports import Simulator, SimulatorTransport

        return SimulatorTransport(Simulator(realtime_factor=sim_speed)), notice
    if missing:
        unset_names = sorted({name for unset in missing.values() for name in unset})
        plural = len(unset_names) > 1
        raise TransportChoiceError(f"environment variable{'s' if plural else ''} {', '.join(unset_names)} "
                                   f"{'are' if plural else 'is'} not set (needed by {', '.join(sorted(missing))})")
    from ..transports import OpenAITransport

    api_key = settings.api_key.reveal(environ) if settings.api_key is not None else None
    headers = {name: value if isinstance(value, str) else value.reveal(environ)
               for name, value in settings.headers.items()} or None
    return OpenAITransport(url=url or settings.url, api_key=api_key, headers=headers), None
