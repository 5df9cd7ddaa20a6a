"""Entry point of a task pod: run one task, write its record and its output to the store.

``python -m flowassets.runtime.task_worker STORE_LOCATION FLOW KEY`` reads the payload the
launching process wrote at ``KEY.spec`` (``compute.task_pods``), runs the task in this process
(the pod is the isolation), and writes ``("ok", TaskRecord, stdout, stderr)`` or ``("error",
type, text, stdout, stderr)`` to ``KEY.result``. The task's output goes both to the pod's log
(``kubectl logs``) and, captured per stream, into the result, so the launcher needs no extra
Kubernetes request per task to show it, and Kubernetes' one merged log stream does not mix the
task's stdout with its stderr in Dagster's captured logs. The exit code says whether the task succeeded, so the pod's phase agrees with the result.
The pod does not open the Dagster instance: the launching op writes every event.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import traceback
from typing import Callable


def main(argv: list[str]) -> int:
    location, flow_name, key = argv
    from ..authoring.loader import load_flow_class
    from ..graph.build import build_flow
    from ..storage.artifacts import ArtifactStore
    from ..storage.select import open_location
    from .task import RunContext, run_and_keep

    backend = open_location(location)
    payload = pickle.loads(backend.get_bytes(key + ".spec"))
    os.environ.update(payload.env)

    def run() -> object:
        # The same class and graph as the launching op: built with the run's config values
        # and --with decorators.
        flow_cls, graph = build_flow(load_flow_class(payload.flow_file, payload.flow_name),
                                     payload.configs or None,
                                     payload.with_decorators)
        ctx = RunContext(flow_cls=flow_cls, graph=graph,
                         store=ArtifactStore(backend, flow_name), run_id=payload.run_id,
                         parameters=payload.parameters, max_num_splits=payload.max_num_splits, origin_run_id=payload.origin_run_id,
                         tags=payload.tags)
        return run_and_keep(payload.spec, ctx)

    outcome, stdout, stderr = _teed(run)
    backend.put_bytes(key + ".result", pickle.dumps(outcome + (stdout, stderr), protocol=5))
    return 0 if outcome[0] == "ok" else 1


def _teed(fn: Callable[[], object]) -> tuple[tuple, bytes, bytes]:
    """Run ``fn`` with fd 1 and fd 2 each going both to the pod's log (the same fd it had) and
    into a buffer of its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    pumps = [_Pump(fd) for fd in (1, 2)]
    try:
        outcome: tuple = ("ok", fn())
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the launcher
        traceback.print_exc()
        outcome = ("error", type(exc).__name__, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for pump in pumps:
            pump.stop()
    return outcome, pumps[0].text(), pumps[1].text()


class _Pump:
    """Takes over ``fd`` with a pipe; a thread copies what arrives to the original and keeps it."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved = os.dup(fd)
        self.chunks: list[bytes] = []
        self.read_fd, write_fd = os.pipe()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()
        os.dup2(write_fd, fd)
        os.close(write_fd)

    def _pump(self) -> None:
        while data := os.read(self.read_fd, 1 << 16):
            self.chunks.append(data)
            os.write(self.saved, data)

    def stop(self) -> None:
        os.dup2(self.saved, self.fd)  # the pipe's last writer is gone: the pump sees EOF
        self.thread.join(timeout=10)
        os.close(self.read_fd)
        os.close(self.saved)

    def text(self) -> bytes:
        return b"".join(self.chunks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
