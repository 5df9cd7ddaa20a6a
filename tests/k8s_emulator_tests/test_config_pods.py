"""Config values in task pods: a pod rebuilds the flow from the run's config values (its
payload), so an unchanged Metaflow file run with ``--config-value`` gets pods sized by that
value and tasks that read it, not the flow's default."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.k8s_emulator_tests.test_task_pods import FLOWS, TASKS, cluster  # noqa: F401 - fixture
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import s3_store_server  # noqa: F401 - fixtures by name

pytestmark = pytest.mark.xdist_group("k8s_emulator")


def test_task_pods_get_the_runs_config_values(cluster):  # noqa: F811 - the fixture
    emulator, ns = cluster.emulator, cluster.namespace
    run_id_file = cluster.home / "run_id"
    sizing = {"cpu": 0.25, "memory": 200, "width": 3}
    result = subprocess.run(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOWS / "config_pods_flow.py"),
         "--config-value", "sizing", json.dumps(sizing), "--run-id-file", str(run_id_file),
         "--quiet"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_file.read_text()
    pods = emulator.pods(namespace=ns, label_selector=f"flowassets.io/run-id={run_id},{TASKS}")
    assert len(pods) == 3 and all(p["phase"] == "Succeeded" for p in pods)
    jobs = emulator.batch().list_namespaced_job(
        ns, label_selector=f"flowassets.io/run-id={run_id},{TASKS}").items
    requests = {(c.resources.requests["cpu"], c.resources.requests["memory"])
                for j in jobs for c in j.spec.template.spec.containers}
    assert len(jobs) == 3 and requests == {("250m", "200M")}, requests
    script = ("import json, sys; from flowassets.client import Flow; "
              "r = Flow('ConfigPodsFlow')[sys.argv[1]]; "
              "print(json.dumps([r['join'].task.data.seen, r['work'].task.data.sizing]))")
    out = subprocess.run([sys.executable, "-c", script, run_id], capture_output=True, text=True,
                         timeout=120, check=True)
    seen, stored = json.loads(out.stdout)
    assert seen == [[0, 3, 200], [1, 3, 200], [2, 3, 200]] and stored == sizing
