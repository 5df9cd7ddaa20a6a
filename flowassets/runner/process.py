"""One ``flowassets run``/``resume`` subprocess started by the Runner, and the run it made.

The subprocess writes its stdout and stderr to files (read while it runs, streamed line by
line, or echoed to this process's own ``sys.stdout``, which in a notebook is the cell's output)
and its run id to ``--run-id-file`` as soon as the run exists, before any step: that is how the
Runner knows which run it started, as Metaflow's Runner does with its own CLI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, AsyncIterator, TextIO

from ..errors import FlowassetsError

#: How often a waiting caller looks at the subprocess and its files (no events to wait on).
POLL_S = 0.05


class RunNotStarted(FlowassetsError):
    """The ``flowassets`` subprocess ended (or timed out) before it created a run."""


class CommandProcess:
    """A ``flowassets`` subprocess whose output goes to files in a temporary directory."""

    def __init__(self, verb: str, argv: list[str], env: dict[str, str], cwd: str):
        self.verb = verb  # "run" or "resume", for messages
        self.argv = argv
        self.directory = tempfile.mkdtemp(prefix="flowassets-runner-")
        self.log_files = {name: os.path.join(self.directory, name) for name in ("stdout", "stderr")}
        self.run_id_file = os.path.join(self.directory, "run_id")
        self.timed_out = False
        with open(self.log_files["stdout"], "wb") as out, open(self.log_files["stderr"], "wb") as err:
            self.process = subprocess.Popen([*argv, "--run-id-file", self.run_id_file], env=env,
                                            cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def read(self, stream: str) -> str:
        with open(self.log_files[stream], encoding="utf-8", errors="replace") as handle:
            return handle.read()

    # -- the run id ------------------------------------------------------------------------
    def run_id(self) -> str | None:
        try:
            with open(self.run_id_file) as handle:
                return handle.read().strip() or None
        except FileNotFoundError:
            return None

    def run_id_or_raise(self, flow: str) -> str:
        found = self.run_id()
        if found is None:
            raise RunNotStarted(self._not_started(flow))
        return found

    def wait_for_run_id(self, flow: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while self.run_id() is None and self.returncode is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
        return self._after_waiting_for_run_id(flow)

    async def async_wait_for_run_id(self, flow: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while self.run_id() is None and self.returncode is None and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
        return self._after_waiting_for_run_id(flow)

    def _after_waiting_for_run_id(self, flow: str) -> str:
        if self.run_id() is None and self.returncode is None:
            self.timed_out = True
            self.kill()
        return self.run_id_or_raise(flow)

    def _not_started(self, flow: str) -> str:
        said = self.read("stderr").strip() or self.read("stdout").strip()
        how = ("did not create a run in time and was stopped" if self.timed_out
               else f"ended (exit code {self.returncode}) before it created a run")
        return f"flow {flow}: `flowassets {self.verb}` {how}" + (f":\n{said}" if said else ".")

    # -- waiting for the end ---------------------------------------------------------------
    def wait(self, show_output: bool) -> int:
        """Block until the subprocess ends, echoing its output here if asked."""
        echo = _Echo(self) if show_output else None
        while self.process.poll() is None:
            if echo:
                echo.copy()
            time.sleep(POLL_S)
        if echo:
            echo.copy()
        return self.process.returncode

    async def async_wait(self, timeout_s: float | None = None, stream: str | None = None) -> None:
        """Wait for the end; past ``timeout_s`` the subprocess is stopped (SIGTERM: the run ends
        CANCELED, as after Ctrl-C) and counts as timed out. ``stream``: echo that stream here."""
        echo = _Echo(self, only=stream) if stream else None
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.process.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                self.timed_out = True
                self.kill()
                break
            if echo:
                echo.copy()
            await asyncio.sleep(POLL_S)
        if echo:
            echo.copy()

    async def stream_log(self, stream: str, position: int | None = None) -> AsyncIterator[tuple[int, str]]:
        """(position after the line, the line without its newline), from ``position`` on, until
        the subprocess has ended and everything it wrote was read."""
        if stream not in self.log_files:
            raise ValueError(f"stream is one of {', '.join(self.log_files)}, not {stream!r}")
        with open(self.log_files[stream], "rb") as handle:
            handle.seek(position or 0)
            while True:
                ended = self.process.poll() is not None  # before reading: nothing comes after
                line = handle.readline()
                if line.endswith(b"\n") or (line and ended):
                    yield handle.tell(), line.decode("utf-8", errors="replace").rstrip("\n")
                    continue
                handle.seek(handle.tell() - len(line))  # a partial line: read it again, whole
                if ended:
                    return
                await asyncio.sleep(POLL_S)

    def kill(self) -> None:
        """SIGTERM first, as Ctrl-C would stop ``flowassets run`` (the run ends CANCELED)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cleanup(self) -> None:
        """Remove the log and run-id files (the run itself stays in the instance)."""
        shutil.rmtree(self.directory, ignore_errors=True)


class _Echo:
    """Copies what the subprocess wrote since last time to ``sys.stdout``/``sys.stderr``."""

    def __init__(self, command: CommandProcess, only: str | None = None):
        self.command = command
        self.streams = [only] if only else ["stdout", "stderr"]
        self.positions = {name: 0 for name in self.streams}

    def copy(self) -> None:
        for name in self.streams:
            with open(self.command.log_files[name], "rb") as handle:
                handle.seek(self.positions[name])
                data = handle.read()
            if data:
                self.positions[name] += len(data)
                target: TextIO = sys.stdout if name == "stdout" or len(self.streams) == 1 else sys.stderr
                target.write(data.decode("utf-8", errors="replace"))
                target.flush()


class ExecutingRun:
    """A run started by a ``Runner``: the client's ``Run`` (``.run``) and the subprocess driving
    it (``status``, ``returncode``, ``stdout``, ``stderr``, ``wait``, ``stream_log``), in the
    shape of Metaflow's ``ExecutingRun``. As a context manager it cleans up its Runner."""

    def __init__(self, runner: Any, command: CommandProcess, run: Any):
        self.runner = runner
        self.command = command
        self.run = run  # flowassets.client.Run

    def __enter__(self) -> "ExecutingRun":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.runner.cleanup()

    async def wait(self, timeout: float | None = None, stream: str | None = None) -> "ExecutingRun":
        """Wait for the run to end (``timeout`` in seconds: then it is stopped); ``stream``
        ("stdout" or "stderr"): print that output meanwhile."""
        await self.command.async_wait(timeout, stream)
        return self

    @property
    def returncode(self) -> int | None:
        """The subprocess's exit code: 0 success, 1 failure, 130 canceled; None while it runs."""
        return self.command.returncode

    @property
    def status(self) -> str:
        """"running", "successful", "failed" or "timeout", as Metaflow's ExecutingRun says."""
        if self.command.timed_out:
            return "timeout"
        code = self.command.returncode
        return "running" if code is None else ("successful" if code == 0 else "failed")

    @property
    def stdout(self) -> str:
        """All the subprocess printed to stdout so far."""
        return self.command.read("stdout")

    @property
    def stderr(self) -> str:
        return self.command.read("stderr")

    async def stream_log(self, stream: str, position: int | None = None) -> AsyncIterator[tuple[int, str]]:
        """Each line of ``stream`` as (position, line), as it comes; ``position`` resumes a
        previous stream where it stopped."""
        async for item in self.command.stream_log(stream, position):
            yield item

    def __repr__(self) -> str:
        return f"ExecutingRun({self.run.pathspec!r}, status={self.status!r})"


__all__ = ["CommandProcess", "ExecutingRun", "RunNotStarted"]
