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
    log: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error is None and self.crash is None
