"""Stores configured through Dagster's own resources (dagster-aws's ``S3Resource``), against
the real S3 server (SeaweedFS): the job's ops and its forked foreach tasks write through the
client the resource builds, another process rebuilds it from the configuration recorded on the
run (never from a secret), and the client library reads the artifacts back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from flowassets import build_definitions
from flowassets.client import Flow
from flowassets.storage import select
from flowassets.storage.store_resources import S3StoreResource
from flowassets.translate.ops import DATASTORE_TAG
from tests.conftest import ROOT, load_flow
from tests.support.servers import S3_ACCESS_KEY, S3_SECRET_KEY, create_bucket

FLOWS = Path(__file__).resolve().parent / "flows"
KEY_VAR, SECRET_VAR = "FA_TEST_DEPLOYMENT_S3_KEY", "FA_TEST_DEPLOYMENT_S3_SECRET"


@pytest.fixture
def no_aws_environment(monkeypatch):
    """No AWS_* variable: whatever reaches the server must come from the resource."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)  # nor a profile from the home folder
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def _run(defs: dg.Definitions, job_name: str) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.get()
    return defs.get_job_def(job_name).execute_in_process(instance=instance)


def test_a_job_built_with_an_s3_resource_writes_through_it_and_the_client_reads_back(
        s3_store_server, no_aws_environment, monkeypatch):
    bucket = create_bucket("s3", s3_store_server)
    monkeypatch.setenv(KEY_VAR, S3_ACCESS_KEY)
    monkeypatch.setenv(SECRET_VAR, S3_SECRET_KEY)
    monkeypatch.setenv(select.SYSROOT_ENV["s3"], bucket.root)
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    resource = S3Resource(endpoint_url=s3_store_server.endpoint, region_name="us-east-1",
                          aws_access_key_id=dg.EnvVar(KEY_VAR), aws_secret_access_key=dg.EnvVar(SECRET_VAR))
    defs = build_definitions([flow], flowassets_store=resource)
    dg.Definitions.validate_loadable(defs)  # as a code location loads it

    result = _run(defs, "StoreFlow")
    assert result.success
    # Every op and every forked foreach task wrote into the bucket, under the prefix.
    names = bucket.object_names()
    run_prefix = f"{bucket.prefix}/StoreFlow/runs/{result.run_id}/"
    assert {n[len(run_prefix):].split("/")[0] for n in names if n.startswith(run_prefix)} == {
        "start", "square", "join", "end"}
    # The run records the resource's configuration: endpoint and the variables' names, no secret.
    location = dg.DagsterInstance.get().get_run_by_id(result.run_id).tags[DATASTORE_TAG]
    assert location.startswith(f"s3:{bucket.root}#")
    recorded = json.loads(location.partition("#")[2])
    assert recorded["values"]["endpoint_url"] == s3_store_server.endpoint
    assert recorded["credential_env"] == {"aws_access_key_id": KEY_VAR, "aws_secret_access_key": SECRET_VAR}
    assert S3_SECRET_KEY not in location and S3_ACCESS_KEY not in location

    run = Flow("StoreFlow")[result.run_id]
    assert run["end"].task.data.total == 45
    assert sorted(t.data.squared[-1] for t in run["square"]) == [0, 1, 2]


def test_another_process_rebuilds_the_client_from_the_recorded_configuration(
        s3_store_server, no_aws_environment, monkeypatch):
    """What a task pod gets (``python -m flowassets.runtime.task_worker LOCATION ...``): the
    location text only. It reaches the endpoint and takes the credentials from the variables
    the resource named, in its own environment."""
    bucket = create_bucket("s3", s3_store_server)
    resource = S3StoreResource(sysroot=bucket.root, s3=S3Resource(
        endpoint_url=s3_store_server.endpoint, region_name="us-east-1",
        aws_access_key_id=dg.EnvVar(KEY_VAR), aws_secret_access_key=dg.EnvVar(SECRET_VAR)))
    assert resource.credential_env == {"aws_access_key_id": KEY_VAR, "aws_secret_access_key": SECRET_VAR}
    monkeypatch.setenv(KEY_VAR, S3_ACCESS_KEY)
    monkeypatch.setenv(SECRET_VAR, S3_SECRET_KEY)
    backend = resource.backend()
    backend.put_bytes("from-parent", b"parent")
    location = select.location_of(backend)  # what run_in_pods hands to each pod
    assert location == resource.location()

    child = ("import sys; from flowassets.storage.select import open_location\n"
             "b = open_location(sys.argv[1]); sys.stdout.write(b.get_bytes('from-parent').decode())\n"
             "b.put_bytes('from-child', b'child')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", child, location], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "parent"
    assert bucket.read(f"{bucket.prefix}/from-child") == b"child"

    # Without the named variables the child has no credentials: the server refuses it.
    env = {k: v for k, v in env.items() if k not in (KEY_VAR, SECRET_VAR)}
    refused = subprocess.run([sys.executable, "-c", child, location], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode != 0 and "StorageError" in refused.stderr


def test_literal_credentials_stay_in_the_run_process(s3_store_server, no_aws_environment, monkeypatch):
    """Credentials written into the resource work for the run (ops and forked tasks) and are
    never recorded; a later reader uses its own environment (here AWS_* variables)."""
    bucket = create_bucket("s3", s3_store_server)
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    store = S3StoreResource(sysroot=bucket.root, s3=S3Resource(
        endpoint_url=s3_store_server.endpoint, region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY))
    result = _run(build_definitions([flow], flowassets_store=store), "StoreFlow")
    assert result.success
    location = dg.DagsterInstance.get().get_run_by_id(result.run_id).tags[DATASTORE_TAG]
    assert S3_SECRET_KEY not in location and S3_ACCESS_KEY not in location

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    assert Flow("StoreFlow")[result.run_id]["end"].task.data.rows == 3


def test_environment_variables_still_choose_the_store(s3_store_server, monkeypatch):
    """No resource given: FLOWASSETS_DATASTORE / _SYSROOT_S3 and AWS_* work as before, and the
    recorded location is the plain ``kind:root``."""
    bucket = create_bucket("s3", s3_store_server)
    for name, value in s3_store_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLOWASSETS_DATASTORE", "s3")
    monkeypatch.setenv(select.SYSROOT_ENV["s3"], bucket.root)
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    result = _run(build_definitions([flow]), "StoreFlow")
    assert result.success
    assert dg.DagsterInstance.get().get_run_by_id(result.run_id).tags[DATASTORE_TAG] == f"s3:{bucket.root}"
    assert Flow("StoreFlow")[result.run_id]["end"].task.data.total == 45


def test_a_job_built_with_an_azure_blob_resource_writes_through_it_and_the_client_reads_back(
        azure_store_server, monkeypatch):
    """dagster-azure's ``AzureBlobStorageResource`` (account URL + key from an ``EnvVar``),
    against Azurite: no AZURE_* variable is set, so only the resource reaches the account."""
    from dagster_azure.blob import AzureBlobStorageKeyCredential, AzureBlobStorageResource

    from tests.support.servers import AZURITE_ACCOUNT, AZURITE_KEY

    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    bucket = create_bucket("azure", azure_store_server)
    monkeypatch.setenv("FA_TEST_DEPLOYMENT_AZURE_KEY", AZURITE_KEY)
    monkeypatch.setenv(select.SYSROOT_ENV["azure"], bucket.root)
    resource = AzureBlobStorageResource(
        account_url=f"{azure_store_server.endpoint}/{AZURITE_ACCOUNT}",
        credential=AzureBlobStorageKeyCredential(key=dg.EnvVar("FA_TEST_DEPLOYMENT_AZURE_KEY")))
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    result = _run(build_definitions([flow], flowassets_store=resource), "StoreFlow")
    assert result.success
    run_prefix = f"{bucket.prefix}/StoreFlow/runs/{result.run_id}/"
    assert {n[len(run_prefix):].split("/")[0] for n in bucket.object_names() if n.startswith(run_prefix)} == {
        "start", "square", "join", "end"}
    location = dg.DagsterInstance.get().get_run_by_id(result.run_id).tags[DATASTORE_TAG]
    recorded = json.loads(location.partition("#")[2])
    assert recorded["credential_env"] == {"credential.key": "FA_TEST_DEPLOYMENT_AZURE_KEY"}
    assert AZURITE_KEY not in location
    assert Flow("StoreFlow")[result.run_id]["end"].task.data.total == 45


def test_a_store_resource_reaches_pods_whatever_the_environment_says():
    """The hybrid executor refuses a local store before any pod exists; with the job's store an
    ``S3StoreResource`` that check takes the resource's datastore and root, not the local
    default of an environment without FLOWASSETS_DATASTORE."""
    from flowassets import flow_to_job
    from flowassets.compute.executors import check_store, store_defaults
    from flowassets.errors import FlowassetsError

    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    store = S3StoreResource(sysroot="s3://bucket/prefix", s3=S3Resource(endpoint_url="http://127.0.0.1:1"))
    job = flow_to_job(flow, resources={"flowassets_store": store})
    assert store_defaults(job)["datastore"] == "s3"
    check_store({}, job.name, store_defaults(job))  # not refused
    plain = flow_to_job(flow)
    with pytest.raises(FlowassetsError, match="local"):
        check_store({}, plain.name, store_defaults(plain))
    with pytest.raises(FlowassetsError, match="local"):  # run config still overrides the resource
        check_store({"resources": {"flowassets_store": {"config": {"datastore": "local"}}}}, job.name,
                    store_defaults(job))


def test_a_job_built_with_a_gcs_resource_writes_through_it_and_another_process_reads_back(
        gcs_store_server, monkeypatch, tmp_path):
    """dagster-gcp's ``GCSResource`` (a project; credentials are Application Default
    Credentials), against fake-gcs-server: the run's ops and forked tasks write through the
    client the resource builds, the run records the resource's project, and a fresh process,
    given only that location (what a task pod gets), builds the same client and reads back."""
    from dagster_gcp.gcs import GCSResource

    from flowassets.storage.gcs_resource import GCSStoreResource

    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "FLOWASSETS_DATASTORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_store_server.env["STORAGE_EMULATOR_HOST"])
    bucket = create_bucket("gs", gcs_store_server)
    monkeypatch.setenv(select.SYSROOT_ENV["gs"], bucket.root)
    flow = load_flow(FLOWS / "store_flow.py", "StoreFlow")
    defs = build_definitions([flow], flowassets_store=GCSResource(project="fa-deployment"))
    dg.Definitions.validate_loadable(defs)
    result = _run(defs, "StoreFlow")
    assert result.success
    run_prefix = f"{bucket.prefix}/StoreFlow/runs/{result.run_id}/"
    assert {n[len(run_prefix):].split("/")[0] for n in bucket.object_names() if n.startswith(run_prefix)} == {
        "start", "square", "join", "end"}
    location = dg.DagsterInstance.get().get_run_by_id(result.run_id).tags[DATASTORE_TAG]
    assert location.startswith(f"gs:{bucket.root}#")
    recorded = json.loads(location.partition("#")[2])
    assert recorded["resource"] == "dagster_gcp.gcs.resources:GCSResource"
    assert recorded["values"] == {"project": "fa-deployment"}
    assert Flow("StoreFlow")[result.run_id]["end"].task.data.total == 45

    # A fresh process (what a task pod runs) rebuilds the client from the recorded location and
    # writes with the resource's project; the environment does not name the store at all.
    child = ("import sys; from flowassets.storage.select import open_location\n"
             "b = open_location(sys.argv[1]); b.put_bytes('from-child', b'child')\n"
             "sys.stdout.write(b.client.project)")
    env = {k: v for k, v in os.environ.items() if k != select.SYSROOT_ENV["gs"]}
    done = subprocess.run([sys.executable, "-c", child, location], env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fa-deployment"
    assert bucket.read(f"{bucket.prefix}/from-child") == b"child"

    # The store resource form, with its own root, is the same store.
    store = GCSStoreResource(sysroot=bucket.root, gcs=GCSResource(project="fa-deployment"))
    assert store.location() == location
    assert store.backend().get_bytes("from-child") == b"child"
