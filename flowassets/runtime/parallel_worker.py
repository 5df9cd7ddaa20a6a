"""Entry point of a @parallel worker pod: run one node's task, write its record to the store.

``python -m flowassets.runtime.parallel_worker STORE_LOCATION FLOW KEY`` reads the payload the
control pod wrote at ``KEY.spec`` (see ``compute.parallel``), runs the task in this process
(the pod is the isolation) with ``current.parallel.main_ip`` from ``FLOWASSETS_PARALLEL_MAIN_IP``,
and writes ``("ok", TaskRecord)`` or ``("error", type, text)`` to ``KEY.result``. The exit code
says whether the task succeeded, so the pod's phase agrees with the result.
"""

from __future__ import annotations

import pickle
import sys
import traceback


def main(argv: list[str]) -> int:
    location, flow_name, key = argv
    from ..cli.loader import load_flow_class
    from ..graph.build import build_graph
    from ..storage.artifacts import ArtifactStore
    from ..storage.select import open_location
    from .task import RunContext, run_task

    backend = open_location(location)
    payload = pickle.loads(backend.get_bytes(key + ".spec"))
    try:
        flow_cls = load_flow_class(payload.flow_file, payload.flow_name)
        ctx = RunContext(flow_cls=flow_cls, graph=build_graph(flow_cls),
                         store=ArtifactStore(backend, flow_name), run_id=payload.run_id,
                         max_num_splits=payload.max_num_splits, origin_run_id=payload.origin_run_id)
        outcome: tuple = ("ok", run_task(payload.spec, ctx))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the control pod
        traceback.print_exc()
        outcome = ("error", type(exc).__name__, "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
    sys.stdout.flush()
    backend.put_bytes(key + ".result", pickle.dumps(outcome, protocol=5))
    return 0 if outcome[0] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
