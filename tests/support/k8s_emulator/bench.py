"""``python -m tests.support.k8s_emulator.bench [--jobs 300] [--command true]``: scale figures.

Starts an emulator, creates N Jobs (one pod each, labelled like foreach tasks) through the official
client, lists their pods by label selector while they run and after they finish, and prints the
time per create and per list call, the time until every pod finished, the peak number of pods
running at once and the API requests the emulator counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .fixtures import start_emulator, stop_emulator


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"n={len(values)} mean {statistics.mean(values) * 1000:.1f} ms, median "
            f"{statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--command", default="python", choices=["python", "true", "sleep"],
                        help='container command: python -c "print(1)", true, or sleep SECONDS')
    parser.add_argument("--sleep", type=float, default=30.0, help="seconds for --command sleep")
    parser.add_argument("--lists", type=int, default=20, help="list calls after every pod finished")
    args = parser.parse_args(argv)
    command = {"python": ["python", "-c", "print(1)"], "true": ["true"],
               "sleep": ["sleep", str(args.sleep)]}[args.command]
    with tempfile.TemporaryDirectory(prefix="k8s-emulator-bench-") as tmp:
        proc, emulator = start_emulator(Path(tmp))
        try:
            core, batch = emulator.core(), emulator.batch()
            ns = "bench"
            core.create_namespace({"metadata": {"name": ns}})
            creates, running_lists, rest_lists, raw_lists = [], [], [], []
            selector = "flowassets.io/step=work"
            began = time.perf_counter()
            for i in range(args.jobs):
                body = {"metadata": {"name": f"task-{i}"}, "spec": {"backoffLimit": 0, "template": {
                    "metadata": {"labels": {"flowassets.io/step": "work", "flowassets.io/task": str(i)}},
                    "spec": {"restartPolicy": "Never", "containers": [
                        {"name": "main", "image": "python:3.11-slim", "command": command}]}}}}
                t0 = time.perf_counter()
                batch.create_namespaced_job(ns, body)
                creates.append(time.perf_counter() - t0)
            created_s = time.perf_counter() - began
            while True:
                t0 = time.perf_counter()
                pods = core.list_namespaced_pod(ns, label_selector=selector).items
                running_lists.append(time.perf_counter() - t0)
                done = sum(1 for p in pods if p.status.phase in ("Succeeded", "Failed"))
                if done == args.jobs:
                    break
                time.sleep(0.2)
            finished_s = time.perf_counter() - began
            for _ in range(args.lists):
                t0 = time.perf_counter()
                core.list_namespaced_pod(ns, label_selector=selector)
                rest_lists.append(time.perf_counter() - t0)
            url = f"{emulator.url}/api/v1/namespaces/{ns}/pods?labelSelector=flowassets.io/step%3Dwork"
            for _ in range(args.lists):
                t0 = time.perf_counter()
                json.loads(urllib.request.urlopen(url).read())
                raw_lists.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            one = core.list_namespaced_pod(ns, label_selector="flowassets.io/task=7").items
            one_s = time.perf_counter() - t0
            assert len(one) == 1
            print(f"jobs: {args.jobs}, container command: {' '.join(command)}")
            print(f"create job (kubernetes client):           {_ms(creates)}; all created after {created_s:.1f} s")
            print(f"list pods by selector while running:      {_ms(running_lists)}")
            print(f"list {args.jobs} pods by selector, at rest (client): {_ms(rest_lists)}")
            print(f"list {args.jobs} pods by selector, at rest (raw JSON): {_ms(raw_lists)}")
            print(f"list 1 pod of {args.jobs} by selector (client): {one_s * 1000:.1f} ms")
            print(f"every pod finished {finished_s:.1f} s after the first create")
            try:
                records = json.loads(urllib.request.urlopen(f"{emulator.url}/_emulator/pods?namespace={ns}").read())
            except OSError:
                records = None
            if records is not None:
                edges = sorted([(r["startedAt"], 1) for r in records["pods"] if r["startedAt"]]
                               + [(r["finishedAt"], -1) for r in records["pods"] if r["finishedAt"]])
                peak = level = 0
                for _, step in edges:
                    level += step
                    peak = max(peak, level)
                runtimes = [r["finishedAt"] - r["startedAt"] for r in records["pods"] if r["finishedAt"]]
                print(f"pods recorded: {len(records['pods'])}, peak running at once: {peak}, "
                      f"process run time: {_ms(runtimes)}")
                counts = json.loads(urllib.request.urlopen(
                    f"{emulator.url}/_emulator/requests?namespace={ns}&records=false").read())["counts"]
                print(f"requests counted in {ns}: {json.dumps(counts, sort_keys=True)}")
                served = json.loads(urllib.request.urlopen(f"{emulator.url}/_emulator/requests?namespace={ns}").read())
                for verb, resource in (("create", "jobs"), ("list", "pods")):
                    times = [r["durationMs"] / 1000 for r in served["requests"]
                             if r["verb"] == verb and r["resource"] == resource and r["durationMs"] is not None]
                    print(f"emulator-side handling of {verb} {resource}: {_ms(times)}")
            core.delete_namespace(ns)
        finally:
            stop_emulator(proc)


if __name__ == "__main__":
    sys.exit(main())
