"""Fixtures for the browser tests: one real Dagster webserver and one headless Chromium per module.

Screenshots go to ``FLOWASSETS_TEST_ARTIFACTS`` (default: a pytest tmp folder, printed at the
end); with ``FLOWASSETS_UPDATE_DOCS=1`` they are also copied into docs/ for the README.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.ui.webserver import ROOT, DagsterUI, run_webserver

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/install.d/40-browser.sh)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory) -> DagsterUI:
    yield from run_webserver(tmp_path_factory.mktemp("dagster-ui"))


@pytest.fixture
def ui(dagster_ui: DagsterUI, monkeypatch) -> DagsterUI:
    """The server, with this test's client (flowassets.client) reading its instance and store."""
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_ui.dagster_home))
    monkeypatch.setenv("FLOWASSETS_DATASTORE_SYSROOT_LOCAL", str(dagster_ui.store_root))
    return dagster_ui


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: run scripts/install.d/40-browser.sh"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    # Dagster's first visit shows a "Join the Dagster community" dialog that blocks clicks.
    page.add_locator_handler(page.get_by_text("Join the Dagster community"),
                             lambda: page.get_by_role("button", name="Skip").click())
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    chosen = os.environ.get("FLOWASSETS_TEST_ARTIFACTS")
    path = Path(chosen) / "ui" if chosen else tmp_path_factory.mktemp("ui-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(page, screenshot_dir: Path):
    """``screenshot("name")`` saves the viewport as name.png (and into docs/ when asked)."""

    def take(name: str) -> Path:
        target = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(target))
        if os.environ.get("FLOWASSETS_UPDATE_DOCS") == "1":
            DOCS.mkdir(exist_ok=True)
            shutil.copyfile(target, DOCS / f"{name}.png")
        print(f"screenshot: {target}")
        return target

    return take
