"""Custom decorators and mutators in task pods: a pod rebuilds the flow from its file, so the
@kubernetes a StepMutator adds sizes the pods and the custom decorator it adds runs around each
task inside its pod."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.k8s_emulator_tests.test_task_pods import FLOWS, TASKS, cluster  # noqa: F401 - fixture
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import s3_store_server  # noqa: F401 - fixtures by name

pytestmark = pytest.mark.xdist_group("k8s_emulator")


def test_mutator_added_kubernetes_and_wrappers_run_in_task_pods(cluster):  # noqa: F811
    emulator, ns = cluster.emulator, cluster.namespace
    run_id_file = cluster.home / "run_id"
    result = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", "run",
         str(FLOWS / "custom_decorator_pods_flow.py"), "--run-id-file", str(run_id_file),
         "--quiet"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_file.read_text()
    jobs = emulator.batch().list_namespaced_job(
        ns, label_selector=f"flowassets.io/run-id={run_id},{TASKS}").items
    requests = {(c.resources.requests["cpu"], c.resources.requests["memory"])
                for j in jobs for c in j.spec.template.spec.containers}
    assert len(jobs) == 3 and requests == {("250m", "200M")}, requests
    script = ("import json, sys; from flowassets.client import Flow; "
              "r = Flow('CustomDecoratorPodsFlow')[sys.argv[1]]; "
              "print(json.dumps([r['join'].task.data.results, "
              "[bool(t.pod) for t in r['work']]]))")
    out = subprocess.run([sys.executable, "-c", script, run_id], capture_output=True, text=True,
                         timeout=120, check=True)
    results, in_pods = json.loads(out.stdout)
    assert results == [["work:pod", 20], ["work:pod", 40], ["work:pod", 60]]
    assert in_pods == [True, True, True]
