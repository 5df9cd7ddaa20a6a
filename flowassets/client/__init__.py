"""Read runs, steps, tasks and artifacts back, in Metaflow's client shape."""

from .core import DataArtifact, Flow, Run, Step, Task

__all__ = ["Flow", "Run", "Step", "Task", "DataArtifact"]
