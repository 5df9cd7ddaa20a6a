"""What became of one task, wherever it ran (a forked process or a Kubernetes pod).

One record for both, so the step's retry, @catch and failure logic (``runtime.execute``) does not
care where its tasks ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskOutcome:
    item: Any
    value: Any = None  # what the task returned, when it returned
    error: str | None = None  # the exception, formatted, when the task raised
    error_type: str | None = None
    crash: str | None = None  # how the process or pod died, when it did not report at all
    stdout: bytes = b""  # what the task wrote to its stdout...
    stderr: bytes = b""  # ...and to its stderr, kept apart as Metaflow and Dagster keep them

    @property
    def ok(self) -> bool:
        return self.error is None and self.crash is None

    @property
    def log(self) -> bytes:
        """Both streams, stdout first: the text failure messages quote (a crash's traceback
        and faulthandler's dump are on stderr, so they end up last)."""
        if self.stdout and self.stderr and not self.stdout.endswith(b"\n"):
            return self.stdout + b"\n" + self.stderr
        return self.stdout + self.stderr
