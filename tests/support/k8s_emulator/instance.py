"""A Dagster home whose runs launch as Kubernetes Jobs on the emulator (K8sRunLauncher).

One writer for every test and benchmark that needs such an instance, so they differ only in
what they pass: the namespace, the environment the run worker and every pod get (through the
launcher's ``env_vars``), and, for a production-like instance, a PostgreSQL URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml


def write_k8s_instance(home: Path, kubeconfig: Path, namespace: str, env: Mapping[str, str],
                       postgres_url: str | None = None) -> None:
    launcher = {
        "service_account_name": "default",
        "instance_config_map": "dagster-instance",  # names a ConfigMap a cluster would mount; unused here
        "dagster_home": str(home),
        "job_image": "flowassets-emulated:local",  # the emulator runs pods in this Python environment
        "job_namespace": namespace,
        "load_incluster_config": False,
        "kubeconfig_file": str(kubeconfig),
        "env_vars": [f"{k}={v}" for k, v in env.items()],
    }
    config = {
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": launcher},
        # DefaultRunCoordinator: launched runs start at once, with no daemon to dequeue them.
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
        "telemetry": {"enabled": False},
    }
    if postgres_url:
        config["storage"] = {"postgres": {"postgres_url": postgres_url}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
