"""Start runs from Python and notebooks: ``Runner`` (a flow file) and ``NBRunner`` (a flow class
defined in a notebook cell), in the shape of Metaflow's ``metaflow.Runner``/``NBRunner``.

Each run is a ``flowassets run``/``resume`` subprocess; what it returns is the client's ``Run``.
"""

from .notebook import NBRunner
from .process import ExecutingRun, RunNotStarted
from .runner import Runner

__all__ = ["ExecutingRun", "NBRunner", "RunNotStarted", "Runner"]
