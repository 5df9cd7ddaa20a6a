"""One exception hierarchy, so callers can catch everything flowassets raises with one clause.

Every message names the flow (and the step and parameter where there is one) and says
what to do, because the person reading it is usually looking at a launch that refused
to start, not at our code.
"""

from __future__ import annotations

from dataclasses import dataclass


class FlowassetsError(Exception):
    """Base of every error flowassets raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow, located precisely enough to fix without searching."""

    code: str
    flow: str
    message: str
    step: str | None = None
    file: str | None = None
    line: int | None = None
    fix: str | None = None

    def render(self) -> str:
        where = f"flow {self.flow}"
        if self.step:
            where += f", step {self.step!r}"
        if self.file:
            where += f" ({self.file}" + (f":{self.line}" if self.line else "") + ")"
        text = f"[{self.code}] {where}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class FlowDefinitionError(FlowassetsError):
    """The flow cannot be turned into a job; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        flows = sorted({p.flow for p in self.problems})
        head = f"{', '.join(flows)} cannot be built into a Dagster job ({len(self.problems)} problem(s)):"
        super().__init__("\n".join([head] + ["  - " + p.render() for p in self.problems]))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


class GraphError(FlowDefinitionError):
    """The step structure (self.next calls, joins, splits) is malformed."""


class DecoratorError(FlowDefinitionError):
    """A decorator has an unknown argument or a value that cannot be honoured."""


class DecoratorSpecError(FlowassetsError):
    """A ``--with DECORATOR[:k=v,...]`` names no step decorator flowassets has, or is malformed."""


class ParameterError(FlowassetsError):
    """A run was given a Parameter value that does not fit the Parameter's type."""


class StepFailure(FlowassetsError):
    """A step's user code failed; the message carries the task and the user's exception."""


class TaskCrashed(StepFailure):
    """The process running a task died (signal, os._exit) before reporting a result."""


class LoopLimitError(StepFailure):
    """A loop (a recursive switch) asked for more passes than ``--max-loop-iterations``."""


class TaskTimeout(StepFailure):
    """A task ran past its @timeout and was killed."""


class ArtifactError(FlowassetsError):
    """An artifact could not be read or written (missing, corrupted, unserializable)."""


class ArtifactNotFound(ArtifactError, KeyError):
    """A task does not have the artifact asked for; also a KeyError, as Metaflow's client raises."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the readable text
        return str(self.args[0]) if self.args else ""


class StorageError(FlowassetsError):
    """The artifact store is misconfigured or unreachable."""


class ForeachError(StepFailure):
    """A foreach produced no splits, too many splits, or a non-iterable value."""


class MergeConflict(StepFailure):
    """merge_artifacts found different values for one name on different branches."""


class ClientError(FlowassetsError):
    """The client could not find a flow, run, step or task."""


class TaggingError(ClientError, ValueError):
    """A run tag that Metaflow's rules refuse (empty, too long, not text, a system tag)."""
