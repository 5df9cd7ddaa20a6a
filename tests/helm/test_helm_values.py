"""helm-values/*.yaml against the official Dagster chart's values.schema.json (vendored).

No helm binary can be installed here (not in Debian, not on PyPI), so the check helm makes at
install time (the chart's JSON schema over the values) runs with jsonschema instead. Two
differences from helm, both explained in helm-values/README.md: the chart's own values.yaml is
not vendored, so ``required`` is not enforced (helm checks the merge of chart defaults and these
overrides; everything else, types, enums and closed objects, is checked as helm would); and the
chart's ``$ref``s to kubernetesjsonschema.dev v1.18 resolve to kubernetes-validate's strict 1.36
schemas, which also refuse unknown fields inside Kubernetes objects (resources, env, ...).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml

from flowassets.storage.select import resolve

ROOT = Path(__file__).resolve().parents[2]
VALUES_DIR = ROOT / "helm-values"
SCHEMA_FILE = VALUES_DIR / "vendor" / "dagster-values.schema.json"
K8S_REF = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json"
VALUE_FILES = sorted(VALUES_DIR.glob("*.yaml"))


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


def _kubernetes_definitions() -> referencing.Resource:
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.36.0-local-strict"
    defs = json.loads((folder / "_definitions.json").read_text())
    # The chart points at "#/definitions/<name>"; this schema keeps them under "$defs".
    return referencing.Resource.from_contents({**defs, "definitions": defs["$defs"]},
                                              default_specification=referencing.jsonschema.DRAFT202012)


def _registry() -> referencing.Registry:
    k8s = _kubernetes_definitions()
    return referencing.Registry().with_resources([(K8S_REF, k8s), (k8s.contents["$id"], k8s)])


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = _without_required(json.loads(SCHEMA_FILE.read_text()))
    return jsonschema.Draft7Validator(schema, registry=_registry())


@pytest.fixture(scope="module")
def deployment_validator() -> jsonschema.Draft7Validator:
    """Helm replaces lists instead of merging them with the chart's defaults, so each user code
    deployment must satisfy the chart's schema on its own, ``required`` included."""
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft7Validator({"$ref": "#/definitions/UserDeployment", "definitions": schema["definitions"]},
                                      registry=_registry())


def _errors(validator: jsonschema.Draft7Validator, values: dict) -> list[str]:
    """Every error, with the reasons inside anyOf branches (the chart wraps many in anyOf-null)."""
    found = []

    def walk(error: jsonschema.ValidationError) -> None:
        found.append(f"{'.'.join(map(str, error.absolute_path))}: {error.message}")
        for sub in error.context or ():
            walk(sub)

    for error in validator.iter_errors(values):
        walk(error)
    return found


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_vendored_schema_is_the_charts_generated_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["title"] == "DagsterHelmValues"
    assert "K8sRunLauncher" in schema["definitions"]["RunLauncherType"]["enum"]
    assert "dagster-user-deployments" in schema["properties"]


@pytest.mark.parametrize("path", VALUE_FILES, ids=[p.name for p in VALUE_FILES])
def test_values_file_validates_against_the_chart_schema(validator, path):
    assert _errors(validator, _load(path)) == []


@pytest.mark.parametrize("path", VALUE_FILES, ids=[p.name for p in VALUE_FILES])
def test_each_user_code_deployment_is_complete(deployment_validator, path):
    deployments = (_load(path).get("dagster-user-deployments") or {}).get("deployments") or []
    for deployment in deployments:
        assert _errors(deployment_validator, deployment) == []


def test_a_deployment_without_a_port_is_refused(deployment_validator):
    (deployment,) = _load(VALUES_DIR / "values.yaml")["dagster-user-deployments"]["deployments"]
    del deployment["port"]
    assert any("'port' is a required property" in e for e in _errors(deployment_validator, deployment))


def test_main_values_run_definitions_py_with_k8s_run_launcher_and_the_store():
    values = _load(VALUES_DIR / "values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--python-file") + 1].endswith("/definitions.py")
    env = {e["name"]: e["value"] for e in deployment["env"]}
    # The store the code server will open is one flowassets accepts (kind and root).
    kind, root = resolve(env["FLOWASSETS_DATASTORE"], env[f"FLOWASSETS_DATASTORE_SYSROOT_{env['FLOWASSETS_DATASTORE'].upper()}"])
    assert (kind, root) == ("s3", "s3://example-flowassets-artifacts/flowassets")
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    run_env = dict(v.split("=", 1) for v in launcher["config"]["k8sRunLauncher"]["envVars"])
    assert run_env["FLOWASSETS_DATASTORE"] == env["FLOWASSETS_DATASTORE"]
    assert run_env["FLOWASSETS_DATASTORE_SYSROOT_S3"] == env["FLOWASSETS_DATASTORE_SYSROOT_S3"]
    assert values["serviceAccount"]["create"] is True
    assert values["global"]["serviceAccountName"] == values["serviceAccount"]["name"]
    assert env["FLOWASSETS_KUBERNETES_SERVICE_ACCOUNT"] == values["serviceAccount"]["name"]


def _mutated(change) -> dict:
    values = copy.deepcopy(_load(VALUES_DIR / "values.yaml"))
    change(values)
    return values


def _launcher(values: dict) -> dict:
    return values["runLauncher"]["config"]["k8sRunLauncher"]


BAD_VALUES = {
    "typo in a run launcher key": (
        lambda v: _launcher(v).update(imagePullPolicyy=_launcher(v).pop("imagePullPolicy")),
        "Additional properties are not allowed ('imagePullPolicyy' was unexpected)"),
    "typo in the run launcher type": (
        lambda v: v["runLauncher"].update(type="K8sRunLaunchr"), "'K8sRunLaunchr' is not one of"),
    "typo in a top-level webserver key": (
        lambda v: v.update(dagsterWebserver={"replicaCount": 1, "replicas": 2}),
        "('replicas' was unexpected)"),
    "bad pull policy of the code image": (
        lambda v: v["dagster-user-deployments"]["deployments"][0]["image"].update(pullPolicy="Sometimes"),
        "'Sometimes' is not one of ['Always', 'IfNotPresent', 'Never']"),
    "port as a string": (
        lambda v: v["dagster-user-deployments"]["deployments"][0].update(port="3030"),
        "'3030' is not of type 'integer'"),
    "typo inside Kubernetes resources": (
        lambda v: _launcher(v)["resources"].update(requets={"cpu": "1"}), "('requets' was unexpected)"),
    "typo inside a Kubernetes env var": (
        lambda v: v["dagster-user-deployments"]["deployments"][0]["env"].append({"name": "X", "vaule": "1"}),
        "('vaule' was unexpected)"),
}


@pytest.mark.parametrize("case", BAD_VALUES, ids=list(BAD_VALUES))
def test_bad_values_are_refused(validator, case):
    change, expected = BAD_VALUES[case]
    errors = _errors(validator, _mutated(change))
    assert errors, f"{case}: accepted"
    assert any(expected in e for e in errors), errors


def test_main_values_keep_the_instance_in_an_external_postgres_with_psycopg2():
    """The chart renders these as dagster.yaml's ``postgres_db:`` blocks; tests/client/
    test_postgres_instance.py runs a flow with that rendering on a real PostgreSQL server."""
    values = _load(VALUES_DIR / "values.yaml")
    pg = values["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"]
    # `postgresql://` alone is psycopg 3 under SQLAlchemy 2.1, which dagster-postgres cannot use.
    assert pg["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
