"""An asset materialized by a terminal run, in the real Dagster UI: `flowassets run FLOW --assets`
against the DAGSTER_HOME a real dagster-webserver serves, then the asset catalog and the asset's
page in headless Chromium show that run's materialization with flowassets' metadata (run id,
task pathspec, type, sha256), the values the client reads back from the store.

The webserver loads a ``build_definitions`` file written into the test's folder that defines the
same flow's assets (``flow_to_assets``), so the catalog shows them as defined assets with their
lineage; the CLI run is a process of its own that only shares the instance and the store.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from flowassets.cli.launch import ASSET_RUN_TAG
from flowassets.client import Flow
from tests.cli.test_cli_assets import FLOW_FILE, flowassets
from tests.ui.webserver import ROOT, DagsterUI, run_webserver

pytestmark = pytest.mark.xdist_group("ui")

LOCATION = "defs.py"
DEFS = f"""\
from flowassets import build_definitions, flow_to_assets
from flowassets.authoring.loader import load_flow_class

defs = build_definitions([], assets=[flow_to_assets(load_flow_class({str(FLOW_FILE)!r}, "TrainFlow"))])
"""
#: the assets flow_to_assets makes of TrainFlow: every artifact its single-task steps set, and "end"
ASSETS = ("alphas", "end", "features", "model", "summary")
#: the first page load on a busy machine builds the asset graph: more than the default 30 s
FIRST_LOAD_MS = 90_000


@pytest.fixture(scope="module")
def asset_ui(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("asset-ui")
    (workdir / LOCATION).write_text(DEFS)
    code = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    yield from run_webserver(workdir, target=["-f", str(workdir / LOCATION)], env=code)


@pytest.fixture
def served(asset_ui: DagsterUI, monkeypatch) -> DagsterUI:
    """The server, with this test's CLI runs and client on its instance and store."""
    monkeypatch.setenv("DAGSTER_HOME", str(asset_ui.dagster_home))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(asset_ui.store_root))
    return asset_ui


def test_an_asset_materialized_by_a_cli_run_in_the_catalog_and_on_its_page(served, page, screenshot,
                                                                         tmp_path):
    done = flowassets("run", str(FLOW_FILE), "--flow", "TrainFlow", "--assets", "--scale", "3",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    task = Flow("TrainFlow")[run_id]["pick"].task  # what the run stored, read by the client
    model = task["model"]
    assert model.data == {"best": 9.0}

    # The catalog: the flow's artifacts as defined assets, each materialized by the CLI's run.
    page.goto(f"{served.url}/assets")
    page.get_by_role("link", name="TrainFlow / model").first.wait_for(timeout=FIRST_LOAD_MS)
    page.get_by_text("Materialized").nth(len(ASSETS) - 1).wait_for()
    for name in ASSETS:
        assert page.get_by_role("link", name=f"TrainFlow / {name}").count() >= 1, name
    # Each asset's status links to the run that materialized it last: the CLI's.
    expect(page.locator(f'a[href^="/runs/{run_id}?"]')).to_have_count(len(ASSETS), timeout=30_000)
    page.get_by_role("link", name="TrainFlow / model").first.click()

    # The asset's page: the description flowassets gives it, then its events.
    page.wait_for_url(re.compile(r"/assets/TrainFlow/model"))
    page.get_by_text("Artifact 'model' of flow TrainFlow, made by step 'pick'.").first.wait_for()
    page.get_by_role("tab", name="Events").click()
    page.get_by_text(f"Materialized in run {run_id[:8]}").first.wait_for()
    shown = {key: _metadata_value(page, key) for key in (
        "flowassets/run_id", "flowassets/pathspec", "flowassets/type", "flowassets/sha256",
        "flowassets/step")}
    assert shown == {"flowassets/run_id": run_id, "flowassets/pathspec": task.pathspec,
                     "flowassets/type": "dict", "flowassets/sha256": model.sha,
                     "flowassets/step": "pick"}
    assert task.pathspec.startswith(f"TrainFlow/{run_id}/pick/")
    page.get_by_role("button", name="Hide navigation").click()  # room for the whole sha256 in the picture
    page.mouse.move(1270, 790)
    screenshot("asset-from-cli-run")

    # The event links to the CLI's run: its page knows it as a run of the flow's asset job.
    page.get_by_role("link", name=run_id[:8]).first.click()
    page.wait_for_url(re.compile(f"/runs/{run_id}"))
    page.get_by_text("Success", exact=True).first.wait_for()
    page.get_by_text(f"{len(ASSETS)} assets", exact=True).first.wait_for()
    page.get_by_role("button", name="View tags and config").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"{ASSET_RUN_TAG}: *", exact=True).first.wait_for()  # "*": every artifact


def _metadata_value(page, key: str) -> str:
    """The value cell beside ``key`` in the materialization's metadata table."""
    row = page.get_by_role("row").filter(has=page.get_by_text(key, exact=True)).first
    row.wait_for()
    return row.get_by_role("cell").nth(1).inner_text().strip()
