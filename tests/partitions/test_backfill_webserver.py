"""A 10-partition backfill launched through the real Dagster webserver's GraphQL API
(``launchPartitionBackfill``, what the UI's "Launch backfill" sends), carried out by a real
``dagster-daemon`` (its backfill loop submits one run per partition; the DefaultRunLauncher starts
each in its own process), and all 10 partitions read back through ``flowassets.client``.

The webserver and the daemon share one DAGSTER_HOME (a QueuedRunCoordinator: the daemon starts
at most 3 runs at once, as a deployment would) and load the same code location: a
``build_definitions`` file written into the test's folder. Both run in their own process
groups, killed whole at the end (tests/ui/webserver.py). The browser tests drive the same
server from headless Chromium: the launchpad's partition picker and the "Launch backfill"
dialog, with screenshots (tests/ui/conftest.py's fixtures)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from dagster_shared.yaml_utils import load_run_config_yaml
from playwright.sync_api import expect

from flowassets.client import Flow
from tests.ui.conftest import browser, page, screenshot, screenshot_dir  # noqa: F401 - fixtures
from tests.ui.webserver import REPOSITORY, ROOT, DagsterUI, _kill_group, run_webserver, server_env

pytestmark = pytest.mark.xdist_group("ui")

FLOWS = Path(__file__).parent / "flows" / "partitioned_flows.py"
DAYS = [f"2026-01-{d:02d}" for d in range(1, 11)]
LOCATION = "defs.py"
PARTITION_SET = "DailyFlow_partition_set"  # Dagster's name for a partitioned job's partition set
DEFS = f"""\
from flowassets import build_definitions
from flowassets.authoring.loader import load_flow_class

defs = build_definitions([load_flow_class({str(FLOWS)!r}, "DailyFlow")])
"""

QUEUED_INSTANCE = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 3
    dequeue_interval_seconds: 1
run_launcher:
  module: dagster.core.launcher
  class: DefaultRunLauncher
"""

PARTITION_SETS = """query($repo: RepositorySelector!, $job: String!) {
  partitionSetsOrError(repositorySelector: $repo, pipelineName: $job) {
    __typename ... on PartitionSets { results { name
      partitionsOrError(limit: 3) { ... on Partitions { results { name
        runConfigOrError { ... on PartitionRunConfig { yaml } } } } } } } } }"""
LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack } ... on UnauthorizedError { message } } }"""
BACKFILL_RUNS = """query($backfill: String!) {
  partitionBackfillOrError(backfillId: $backfill) { __typename ... on PartitionBackfill { status } }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $backfill}]}) {
    ... on Runs { results { runId status tags { key value } } } } }"""


def served_code_env() -> dict[str, str]:
    """This checkout's flowassets first, in every process the servers start."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The webserver and the daemon on one instance, both loading ``defs.py``."""
    workdir = tmp_path_factory.mktemp("backfill")
    (workdir / "defs.py").write_text(DEFS)
    code = served_code_env()
    for ui in run_webserver(workdir, target=["-f", str(workdir / "defs.py")], env=code,
                            dagster_yaml=QUEUED_INSTANCE):
        daemon_log = workdir / "daemon.log"
        exe = shutil.which("dagster-daemon")
        assert exe, "dagster-daemon is not installed (pip install -e '.[dev]')"
        with open(daemon_log, "wb") as log:
            daemon = subprocess.Popen(
                [exe, "run", "-f", str(workdir / "defs.py")], cwd=workdir,
                env={**server_env(ui.dagster_home, ui.store_root), **code}, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            yield ui, daemon_log
        finally:
            _kill_group(daemon)


def _repo() -> dict[str, str]:
    return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}


def test_the_launchpad_offers_the_partitions_with_their_parameter(served):
    """The partition set the launchpad's partition picker lists, and the config it fills in."""
    ui, _ = served
    found = ui.graphql(PARTITION_SETS, repo=_repo(), job="DailyFlow")["partitionSetsOrError"]
    [partition_set] = found["results"]
    assert partition_set["name"] == PARTITION_SET
    partitions = partition_set["partitionsOrError"]["results"]
    assert [p["name"] for p in partitions] == DAYS[:3]
    config = load_run_config_yaml(partitions[1]["runConfigOrError"]["yaml"])  # as Dagster reads it
    assert config == {"ops": {"start": {"config": {"date": "2026-01-02"}}}}


def test_a_ten_partition_backfill_makes_ten_runs_read_back_by_partition(served, monkeypatch):
    ui, daemon_log = served
    params = {"selector": {"partitionSetName": PARTITION_SET, "repositorySelector": _repo()},
              "partitionNames": DAYS, "title": "ten days"}
    launched = ui.graphql(LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = launched["backfillId"]

    runs = _wait_for_runs(ui, backfill, daemon_log, len(DAYS), timeout_s=900)
    assert sorted(r["partition"] for r in runs) == DAYS

    monkeypatch.setenv("DAGSTER_HOME", str(ui.dagster_home))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(ui.store_root))
    flow = Flow("DailyFlow")
    assert {run.partition for run in flow.runs()} == set(DAYS)
    for day in DAYS:
        [run] = flow.runs(partition=day)
        assert run.successful and run.id in {r["runId"] for r in runs}
        assert run.dagster_tags["dagster/backfill"] == backfill
        assert run.data.date == day
        assert run.data.total == 12 * int(day[-2:])  # the start step read the day from the key
        assert len(list(run["double"].tasks())) == 3


def test_dagster_job_backfill_cli_makes_a_run_per_partition(served, monkeypatch):
    """Dagster's own CLI on the same instance and code: it submits one run per partition."""
    ui, daemon_log = served
    days = ["2026-01-11", "2026-01-12"]
    env = {**server_env(ui.dagster_home, ui.store_root), **served_code_env()}
    done = subprocess.run(
        [shutil.which("dagster"), "job", "backfill", "-f", str(ui.dagster_home.parent / "defs.py"),
         "-j", "DailyFlow", "--partitions", ",".join(days), "--noprompt"],
        cwd=ui.dagster_home.parent, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [backfill] = re.findall(r"Launched backfill job `([^`]+)`", done.stdout)
    runs = _wait_for_runs(ui, backfill, daemon_log, len(days), timeout_s=600)
    assert sorted(r["partition"] for r in runs) == days
    monkeypatch.setenv("DAGSTER_HOME", str(ui.dagster_home))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(ui.store_root))
    for day in days:
        [run] = Flow("DailyFlow").runs(partition=day)
        assert run.data.total == 12 * int(day[-2:])


def _wait_for_runs(ui: DagsterUI, backfill: str, daemon_log: Path, count: int,
                   timeout_s: float) -> list[dict]:
    """Until the daemon has made a run per partition and every one has finished."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = ui.graphql(BACKFILL_RUNS, backfill=backfill)
        runs = [{"runId": r["runId"], "status": r["status"],
                 "partition": {t["key"]: t["value"] for t in r["tags"]}.get("dagster/partition")}
                for r in answer["runsOrError"]["results"]]
        finished = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        if len(runs) == count and len(finished) == len(runs):
            failed = [r for r in runs if r["status"] != "SUCCESS"]
            assert not failed, f"runs failed: {failed}"
            return runs
        if time.monotonic() > deadline:
            status = answer["partitionBackfillOrError"]
            tail = "\n".join(daemon_log.read_text(errors="replace").splitlines()[-40:])
            raise AssertionError(f"backfill {backfill} ({status}) after {timeout_s:.0f} s: "
                                 f"{len(runs)} runs, {len(finished)} finished.\ndaemon log:\n{tail}")
        time.sleep(2)


# -- the same in a browser ---------------------------------------------------------------------
def _job_url(ui: DagsterUI, tab: str) -> str:
    return f"{ui.url}/locations/{LOCATION}/jobs/DailyFlow/{tab}"


def _read_as(ui: DagsterUI, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(ui.dagster_home))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(ui.store_root))


def test_launchpad_partition_picker_runs_that_day(served, page, screenshot, monkeypatch):
    """Pick a partition in the launchpad: the editor gets the Parameter from the key, and the
    run it launches is that partition's."""
    ui, _ = served
    page.goto(_job_url(ui, "playground"))
    page.locator(".CodeMirror").first.wait_for()
    picker = page.get_by_placeholder("Partition")
    picker.click()
    page.keyboard.type("2026-01-20", delay=30)
    page.keyboard.press("Enter")
    for _ in range(100):
        config = load_run_config_yaml(_editor_text(page)) or {}
        if ((config.get("ops") or {}).get("start") or {}).get("config", {}).get("date"):
            break
        page.wait_for_timeout(100)
    assert config["ops"]["start"]["config"] == {"date": "2026-01-20", "scale": 1}
    page.get_by_text("No errors").wait_for()
    page.mouse.move(600, 560)
    screenshot("partition-launchpad")
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url(RUN_URL)
    run_id = RUN_URL.search(page.url).group(1)
    _read_as(ui, monkeypatch)
    run = _wait_finished(Flow("DailyFlow"), run_id)
    assert run.successful and run.partition == "2026-01-20"
    assert run.data.total == 12 * 20


def test_backfill_dialog_launches_a_run_per_partition(served, page, screenshot, monkeypatch):
    ui, daemon_log = served
    page.goto(_job_url(ui, "partitions"))
    page.get_by_role("button", name="Launch backfill…").click()
    keys = page.get_by_placeholder(re.compile(r"^ex: 2026-01-01"))
    keys.fill("[2026-01-21...2026-01-23]")
    keys.press("Enter")
    submit = page.get_by_role("button", name="Submit 3 runs")
    submit.wait_for()
    # The dialog sees the daemon (it warns when no backfill daemon heartbeats) and the queue.
    expect(page.get_by_text("The backfill daemon is not running")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("without a queued run coordinator")).to_have_count(0)
    screenshot("partition-backfill-dialog")
    submit.click()
    backfill = _wait_for_backfill_id(ui)
    runs = _wait_for_runs(ui, backfill, daemon_log, 3, timeout_s=600)
    assert sorted(r["partition"] for r in runs) == ["2026-01-21", "2026-01-22", "2026-01-23"]
    _read_as(ui, monkeypatch)
    for day in ["2026-01-21", "2026-01-22", "2026-01-23"]:
        [run] = Flow("DailyFlow").runs(partition=day)
        assert run.data.total == 12 * int(day[-2:])
    page.goto(_job_url(ui, "partitions"))
    page.get_by_text("Backfill history").wait_for()
    page.get_by_text("Total partitions").wait_for()
    page.wait_for_timeout(1000)  # the status bar's colours settle
    screenshot("partition-status")


RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})(?:[?#]|$)")
BACKFILLS = """{ partitionBackfillsOrError(limit: 20) { ... on PartitionBackfills { results {
  id numPartitions partitionNames } } } }"""


def _editor_text(page) -> str:
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def _wait_finished(flow: Flow, run_id: str, timeout_s: float = 600) -> "object":
    deadline = time.monotonic() + timeout_s
    run = flow[run_id]
    while not run.finished:
        assert time.monotonic() < deadline, f"run {run_id} still {run.status} after {timeout_s:.0f} s"
        time.sleep(1)
    return run


def _wait_for_backfill_id(ui: DagsterUI, timeout_s: float = 60) -> str:
    """The backfill the dialog just created (the only one over those three days)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = ui.graphql(BACKFILLS)["partitionBackfillsOrError"]["results"]
        ours = [b["id"] for b in found if "2026-01-22" in (b["partitionNames"] or [])]
        if ours:
            return ours[0]
        assert time.monotonic() < deadline, f"no backfill of 2026-01-21..23 after {timeout_s:.0f} s: {found}"
        time.sleep(1)
