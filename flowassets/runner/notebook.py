"""``NBRunner``: run a flow defined in a notebook cell, as Metaflow's ``NBRunner`` does.

    run = NBRunner(MyFlow).nbrun(alpha=5)   # the client's Run, once the run has ended
    run.data.total

A cell's class exists only in the kernel's process, and a run (its Dagster run record, a
re-execution, a task pod) needs a file that defines the flow. So, as Metaflow does, the cell
that defines the class is written to a temporary ``.py`` file in ``base_dir``, up to the end of
the class statement (a call after it, such as this ``nbrun``, is left out), and that file is run
by a ``Runner``. The cell is found through the class's functions (``authoring.source``), not as
"the last cell run", so the flow may be run from any later cell. The cell must run on its own:
the imports and helpers the flow uses belong in it. A class that already comes from a ``.py``
file is run from that file.
"""

from __future__ import annotations

import linecache
import os
import tempfile
from typing import Any

from ..authoring.source import class_source, flow_file
from ..errors import FlowassetsError
from .process import ExecutingRun
from .runner import Runner


class NBRunner:
    """Runs of a flow class defined in a notebook cell (see the module docstring).

    Keywords as ``Runner``'s; ``base_dir``: where the cell's file is written (default: the
    working directory, so relative paths in the flow mean what they mean in the notebook).
    ``nbrun``/``nbresume`` clean up after themselves; after ``run``/``async_run`` call
    ``cleanup()``."""

    def __init__(self, flow: type, show_output: bool = True, env: dict[str, str] | None = None,
                 base_dir: str | None = None, file_read_timeout: float = 3600, **kwargs: Any):
        self.flow = flow
        self.base_dir = os.path.abspath(base_dir or os.getcwd())
        existing = flow_file(flow)
        self.tmp_flow_file: str | None = None
        if existing is None:
            self.tmp_flow_file = write_cell_file(flow, self.base_dir)
        try:
            self.runner = Runner(existing or self.tmp_flow_file, show_output=show_output, env=env,
                                 cwd=self.base_dir, file_read_timeout=file_read_timeout,
                                 flow=flow.__name__, **kwargs)
        except FlowassetsError:
            self.cleanup()
            raise
        except Exception as exc:  # noqa: BLE001 - the cell's own code failed when run as a file
            self.cleanup()
            raise FlowassetsError(
                f"flow {flow.__name__}: its cell does not run on its own as a file "
                f"({type(exc).__name__}: {exc}). NBRunner runs the cell's code up to the end of "
                "the class in a new process: put the imports and helpers the flow uses in that "
                "cell, or save the flow to a .py file and use Runner(FILE).") from exc

    def nbrun(self, **kwargs: Any) -> Any:
        """Run to the end and return the client's ``Run`` (then clean up)."""
        try:
            return self.runner.run(**kwargs).run
        finally:
            self.cleanup()

    def nbresume(self, **kwargs: Any) -> Any:
        """Resume (``origin_run_id``, ``step_to_rerun``) to the end; the new ``Run``."""
        try:
            return self.runner.resume(**kwargs).run
        finally:
            self.cleanup()

    def run(self, **kwargs: Any) -> ExecutingRun:
        return self.runner.run(**kwargs)

    def resume(self, **kwargs: Any) -> ExecutingRun:
        return self.runner.resume(**kwargs)

    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        return await self.runner.async_run(**kwargs)

    async def async_resume(self, **kwargs: Any) -> ExecutingRun:
        return await self.runner.async_resume(**kwargs)

    def cleanup(self) -> None:
        """Delete the cell's file and the subprocesses' logs."""
        if self.tmp_flow_file and os.path.exists(self.tmp_flow_file):
            os.remove(self.tmp_flow_file)
        runner = getattr(self, "runner", None)
        if runner is not None:
            runner.cleanup()


def write_cell_file(flow: type, directory: str) -> str:
    """The cell that defines ``flow``, up to the end of its class statement, as a new file."""
    source = class_source(flow)
    if source is None:
        raise FlowassetsError(
            f"flow {flow.__name__}: the cell that defines it cannot be found (its source is in no "
            "file or notebook cell, e.g. it was made by exec()). Define the flow in a notebook "
            "cell or a .py file.")
    if source.lines[0][:1].isspace():
        raise FlowassetsError(
            f"flow {flow.__name__}: the class is defined inside another statement of its cell "
            f"({source.file}, line {source.start}); define it at the top level of the cell.")
    cell = linecache.getlines(source.file)
    end = source.start + len(source.lines) - 1
    text = "".join(cell[:end]).rstrip("\n")
    text += f'\n\n\nif __name__ == "__main__":\n    {flow.__name__}()\n'
    handle = tempfile.NamedTemporaryFile("w", prefix=f"{flow.__name__}_", suffix=".py",
                                         dir=directory, delete=False, encoding="utf-8")
    with handle:
        handle.write(text)
    return handle.name


__all__ = ["NBRunner", "write_cell_file"]
