"""Cards drawn in task pods: each pod of a @kubernetes foreach writes its task's card to the S3
store, and `flowassets card get` reads it from another process (same cluster set-up as
test_task_pods.py: emulated Kubernetes API, SeaweedFS S3, PostgreSQL instance)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.k8s_emulator_tests.test_task_pods import FLOWS, cluster  # noqa: F401 - fixture by name
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 - fixtures by name
from tests.support.servers import s3_store_server  # noqa: F401 - fixtures by name

pytestmark = pytest.mark.xdist_group("k8s_emulator")


def test_each_task_pod_writes_its_card_to_the_store(cluster):  # noqa: F811 - the fixture
    run_id_file = cluster.home / "run_id"
    done = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "run",
                           str(FLOWS / "card_pods_flow.py"), "--run-id-file", str(run_id_file),
                           "--quiet"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = run_id_file.read_text().strip()
    from flowassets.client import Flow

    run = Flow("CardPodsFlow")[run_id]
    tasks = list(run["draw"])
    assert len(tasks) == 2 and all(t.data.pod for t in tasks)  # each task ran in a pod
    for task in tasks:
        [ref] = task.record.cards
        assert ref.location.startswith(cluster.env["FLOWASSETS_DATASTORE_SYSROOT_S3"])
        got = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "card", "get",
                              task.pathspec], capture_output=True, text=True, timeout=300)
        assert got.returncode == 0, got.stderr
        assert f"in pod {task.data.pod}</h1>" in got.stdout
