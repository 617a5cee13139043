"""The immutable graph model (see :mod:`realtime_graph.graph.model`)."""

from .model import *  # noqa: F403
from .model import __all__ as __all__
