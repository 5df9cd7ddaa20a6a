"""Entry point of a task pod: run one task, write its record and its output to the store.

``python -m flowassets.runtime.task_worker STORE_LOCATION FLOW KEY`` reads the payload the
launching process wrote at ``KEY.spec`` (``compute.task_pods``), runs the task in this process
(the pod is the isolation), and writes ``("ok", TaskRecord, log)`` or ``("error", type, text,
log)`` to ``KEY.result``. The task's output goes both to the pod's log (``kubectl logs``) and,
captured, into the result, so the launcher needs no extra Kubernetes request per task to show
it. The exit code says whether the task succeeded, so the pod's phase agrees with the result.
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
        # The same class and graph as the launching op: built with the run's config values.
        flow_cls, graph = build_flow(load_flow_class(payload.flow_file, payload.flow_name),
                                     payload.configs or None)
        ctx = RunContext(flow_cls=flow_cls, graph=graph,
                         store=ArtifactStore(backend, flow_name), run_id=payload.run_id,
                         parameters=payload.parameters, max_num_splits=payload.max_num_splits, origin_run_id=payload.origin_run_id)
        return run_and_keep(payload.spec, ctx)

    outcome, log = _teed(run)
    backend.put_bytes(key + ".result", pickle.dumps(outcome + (log,), protocol=5))
    return 0 if outcome[0] == "ok" else 1


def _teed(fn: Callable[[], object]) -> tuple[tuple, bytes]:
    """Run ``fn`` with fds 1 and 2 going both to the pod's log and into a buffer."""
    read_fd, write_fd = os.pipe()
    saved = os.dup(1)
    chunks: list[bytes] = []

    def pump() -> None:
        while data := os.read(read_fd, 1 << 16):
            chunks.append(data)
            os.write(saved, data)

    sys.stdout.flush()
    sys.stderr.flush()
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    saved_err = os.dup(2)
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        outcome: tuple = ("ok", fn())
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the launcher
        traceback.print_exc()
        outcome = ("error", type(exc).__name__, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.dup2(saved_err, 2)  # the pipe's last writers are gone: the pump sees EOF
        reader.join(timeout=10)
        os.close(read_fd)
    return outcome, b"".join(chunks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
