"""Every step decorator's behaviour, run for real on a Dagster instance (execute_in_process)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from flowassets import FlowassetsError, flow_to_job
from flowassets.client import Flow
from tests.conftest import load_flow
from tests.support.k8s_emulator.fixtures import k8s_emulator, k8s_namespace  # noqa: F401 - fixtures

FLOWS = Path(__file__).resolve().parent / "flows_decorators.py"


def _run(name: str, **kwargs):
    job = flow_to_job(load_flow(FLOWS, name))
    result = job.execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False, **kwargs)
    return job, result


def _failure(result) -> str:
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failures, "expected a failed step"
    return failures[0].event_specific_data.error.message


def test_retry_succeeds_on_the_third_attempt(isolated_store):
    _, result = _run("RetryFlow")
    assert result.success
    assert Flow("RetryFlow")[result.run_id]["start"].task["succeeded_on"].data == 2
    assert (isolated_store / "attempts.txt").read_text().split() == ["0", "1", "2"]


def test_retry_gives_up_after_times_and_says_which_attempt(isolated_store):
    _, result = _run("RetryExhaustedFlow")
    assert not result.success
    message = _failure(result)
    assert "always fails (attempt 1)" in message and "attempt 2" in message
    assert "RetryExhaustedFlow" in message and "'start'" in message


def test_timeout_kills_a_sleeping_step_with_a_clear_message():
    _, result = _run("TimeoutFlow")
    assert not result.success
    message = _failure(result)
    assert "flow TimeoutFlow, step 'start'" in message
    assert "@timeout of 1 s exceeded" in message


def test_catch_takes_a_timeout_and_keeps_what_was_set_before():
    _, result = _run("TimeoutCaughtFlow")
    assert result.success
    run = Flow("TimeoutCaughtFlow")[result.run_id]
    start = run["start"].task
    assert start["before"].data == "set before the sleep"
    assert "after" not in start.artifacts
    assert run["end"].task["failure_type"].data == "TaskTimeout"


def test_catch_stores_the_exception_and_the_step_succeeds():
    _, result = _run("CatchFlow")
    assert result.success
    run = Flow("CatchFlow")[result.run_id]
    failure = run["risky"].task["failure"].data
    assert failure.type == "ValueError" and failure.message == "boom in risky"
    assert "raise ValueError" in failure.traceback
    assert run["end"].task["seen"].data == ("ValueError", "boom in risky", [1, 2], "from start")
    assert "boom in risky" in run["risky"].task.stdout  # print_exception defaults to True


def test_environment_vars_are_visible_in_their_step_only(monkeypatch):
    monkeypatch.delenv("FA_GREETING", raising=False)
    _, result = _run("EnvironmentFlow")
    assert result.success
    run = Flow("EnvironmentFlow")[result.run_id]
    assert run["start"].task["greeting"].data == "hello"
    assert run["start"].task["number"].data == "3"
    assert run["end"].task["later"].data is None


PASSWORD = "s3cr3t-Pa55word-xyz"
TOKEN = "tok-0123456789-abcdef"


def _instance_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything the Dagster UI can show about a run: events, tags, run config."""
    run = instance.get_run_by_id(run_id)
    events = [repr(e) for e in instance.all_logs(run_id)]
    return "\n".join(events + [repr(run.tags), repr(run.run_config), repr(run.job_snapshot_id)])


def test_secret_values_reach_the_step_but_no_log_tag_or_config(isolated_store, monkeypatch):
    (isolated_store / "secrets.env").write_text(f"# db\nDB_PASSWORD={PASSWORD}\n")
    monkeypatch.setenv("FA_TEST_TOKEN", TOKEN)
    job, result = _run("SecretsFlow")
    assert result.success, _failure(result)
    run = Flow("SecretsFlow")[result.run_id]
    assert run["start"].task["password_length"].data == len(PASSWORD)
    assert run["end"].task["outside"].data is None
    log = run["start"].task.stdout
    assert "db password is ****" in log and "token is ****" in log
    assert "subprocess sees ****" in log  # output of a child process is masked too
    assert PASSWORD not in log and TOKEN not in log
    visible = _instance_text(dg.DagsterInstance.get(), result.run_id)
    assert "db password is" in visible  # the task output did reach Dagster's event log...
    assert PASSWORD not in visible and TOKEN not in visible  # ...masked
    op_tags = [job.graph.node_named(s).definition.tags for s in ("start", "end")]
    assert PASSWORD not in repr((job.tags, op_tags)) and TOKEN not in repr((job.tags, op_tags))


def test_a_secret_in_an_error_message_is_masked(isolated_store):
    (isolated_store / "secrets.env").write_text(f"DB_PASSWORD={PASSWORD}\n")
    _, result = _run("SecretInErrorFlow")
    assert not result.success
    message = _failure(result)
    assert "could not log in with ****" in message and PASSWORD not in message
    assert PASSWORD not in _instance_text(dg.DagsterInstance.get(), result.run_id)


def test_a_missing_secret_source_fails_the_step_naming_it(isolated_store):
    _, result = _run("SecretInErrorFlow")
    message = _failure(result)
    assert "flow SecretInErrorFlow, step 'start'" in message and "secrets.env" in message


@pytest.mark.parametrize("flow, names", [("PypiCondaFlow", ["@pypi", "@conda"])])
def test_unsupported_decorators_are_refused_when_the_job_is_built(flow, names):
    with pytest.raises(FlowassetsError) as err:
        flow_to_job(load_flow(FLOWS, flow))
    text = str(err.value)
    for name in names:
        assert f"{name} is not supported" in text
    assert flow in text


def test_kubernetes_secret_source_read_through_the_api(k8s_emulator, k8s_namespace, monkeypatch):
    """A Secret in the (emulated, see tests/support/k8s_emulator) Kubernetes API reaches the
    step as variables, read with the kubeconfig, and is masked in its log."""
    from kubernetes import client

    k8s_emulator.core().create_namespaced_secret(k8s_namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="fa-db-creds"),
        string_data={"DB_USER": "svc-user", "DB_PASSWORD": PASSWORD}))
    monkeypatch.setenv("KUBECONFIG", str(k8s_emulator.kubeconfig))
    monkeypatch.setenv("FLOWASSETS_KUBERNETES_NAMESPACE", k8s_namespace)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    _, result = _run("KubernetesSecretFlow")
    assert result.success, _failure(result)
    start = Flow("KubernetesSecretFlow")[result.run_id]["start"].task
    assert start["user"].data == "svc-user"
    assert "password ****" in start.stdout and PASSWORD not in start.stdout
    assert PASSWORD not in _instance_text(dg.DagsterInstance.get(), result.run_id)
