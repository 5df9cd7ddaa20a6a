"""The run page's stdout and stderr panes in a real browser: a foreach step's tasks, each line
labelled with its task, stdout in one pane and stderr in the other (run launched through the
real webserver; see tests/logs/ for the same through the compute-log manager and GraphQL)."""

from __future__ import annotations

import pytest

from tests.logs.test_captured_logs_webserver import launch, printing_webserver, wait
from tests.ui.webserver import DagsterUI

pytestmark = pytest.mark.xdist_group("ui")

#: The console logger off, as `flowassets run` has it: Dagster would otherwise print every
#: event of the run to stderr too, and the pane would hold those lines around the tasks'.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@pytest.fixture
def printing_ui(tmp_path, monkeypatch) -> DagsterUI:
    for ui in printing_webserver(tmp_path):
        monkeypatch.setenv("DAGSTER_HOME", str(ui.dagster_home))
        monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(ui.store_root))
        yield ui


def test_stdout_and_stderr_panes_show_each_tasks_own_stream(printing_ui, page, screenshot):
    run_id = launch(printing_ui, "item", **QUIET_CONSOLE)
    assert wait(printing_ui, run_id) == "SUCCESS"
    page.goto(f"{printing_ui.url}/runs/{run_id}")
    page.get_by_role("button", name="stdout").first.click()
    page.locator("input[placeholder^='Select a step']").click()
    page.get_by_role("menuitem", name="4 steps").click()  # the run process's one capture
    for item, task in [("a", "2-0"), ("bb", "2-1"), ("ccc", "2-2")]:
        page.get_by_text(f"[shout/{task}] stdout says item-{item}").wait_for()
    assert _visible(page, "stderr says") == 0
    screenshot("step-stdout")
    page.get_by_role("button", name="stderr").first.click()
    for item, task in [("a", "2-0"), ("bb", "2-1"), ("ccc", "2-2")]:
        page.get_by_text(f"[shout/{task}] stderr says item-{item}").wait_for()
    assert _visible(page, "stdout says") == 0
    screenshot("step-stderr")


def _visible(page, text: str) -> int:
    """How many elements showing ``text`` are visible (the other pane stays in the page, hidden)."""
    return sum(1 for item in page.get_by_text(text).all() if item.is_visible())
