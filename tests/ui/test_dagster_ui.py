"""The real Dagster UI in headless Chromium: the example flows' jobs, Parameters as typed launchpad
config, a run launched from the launchpad, and its artifacts read back with flowassets.client.

Everything here is real: dagster-webserver on 127.0.0.1 loading the repo's workspace.yaml, the
DefaultRunLauncher's run worker, the local artifact store, Debian's chromium via Playwright.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from dagster import DagsterInstance
from playwright.sync_api import expect

from flowassets.client import Flow

pytestmark = pytest.mark.xdist_group("ui")

EXAMPLE_JOBS = {"HelloFlow", "MergeFlow", "NestedForeachFlow", "SwitchFlow"}
RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})(?:[?#]|$)")

START_CONFIG_FIELDS = """query($sel: PipelineSelector!) {
  pipelineOrError(params: $sel) { __typename ... on Pipeline {
    solidHandles { handleID solid { definition { ... on SolidDefinition {
      configField { configType { ... on CompositeConfigType { fields {
        name description isRequired defaultValueAsJson configType { key ... on RegularConfigType { givenName } }
      } } } }
    } } } }
  } }
}"""
DEFAULT_RUN_CONFIG = """query($sel: PipelineSelector!) { runConfigSchemaOrError(selector: $sel) {
  __typename ... on RunConfigSchema { rootDefaultYaml } } }"""


def test_every_example_flow_is_a_job_in_the_webserver(ui):
    data = ui.graphql("""{ repositoriesOrError { ... on RepositoryConnection { nodes {
        name pipelines { name } } } } }""")
    jobs = {p["name"] for repo in data["repositoriesOrError"]["nodes"] for p in repo["pipelines"]}
    assert EXAMPLE_JOBS <= jobs


def test_parameters_are_typed_config_with_defaults_and_help(ui, page):
    handles = ui.graphql(START_CONFIG_FIELDS, sel=ui.selector("HelloFlow"))["pipelineOrError"]["solidHandles"]
    [start] = [h for h in handles if h["handleID"] == "start"]
    fields = {f["name"]: f for f in start["solid"]["definition"]["configField"]["configType"]["fields"]}
    assert fields["greeting"]["configType"]["givenName"] == "String"
    assert json.loads(fields["greeting"]["defaultValueAsJson"]) == "hello"
    assert fields["greeting"]["description"] == "word every message starts with"
    assert fields["repeat"]["configType"]["givenName"] == "Int"
    assert json.loads(fields["repeat"]["defaultValueAsJson"]) == 2
    assert not fields["repeat"]["isRequired"]
    scaffold = ui.graphql(DEFAULT_RUN_CONFIG, sel=ui.selector("HelloFlow"))["runConfigSchemaOrError"]
    assert yaml.safe_load(scaffold["rootDefaultYaml"])["ops"]["start"]["config"] == {
        "greeting": "hello", "repeat": 2}

    # The launchpad opens with those defaults in the editor, and its config docs explain them.
    page.goto(ui.job_url("HelloFlow", "playground"))
    editor = page.locator(".CodeMirror").first
    editor.get_by_text("greeting").wait_for()
    assert {"greeting": "hello", "repeat": 2} == yaml.safe_load(_editor_text(page))["ops"]["start"]["config"]
    editor.get_by_text("greeting").click()  # the docs panel follows the cursor
    docs = page.locator("text=word every message starts with")
    docs.first.wait_for()
    assert page.locator("text=how often to repeat it").count() >= 1


def test_launch_from_the_launchpad_and_read_the_artifacts(ui, page, screenshot):
    page.goto(ui.job_url("HelloFlow"))
    for step in ["start", "greet", "pick", "end"]:
        page.get_by_text(step, exact=True).first.wait_for()
    page.get_by_text("One task per name (runs in parallel).").first.wait_for()
    screenshot("job-graph")

    page.get_by_role("tab", name="Launchpad").click()
    editor = page.locator(".CodeMirror").first
    _type_over(page, editor, "greeting", "hello", "howdy")  # as a user would: select, type over
    _type_over(page, editor, "repeat", 2, 3)
    config = yaml.safe_load(_editor_text(page))
    assert config["ops"]["start"]["config"] == {"greeting": "howdy", "repeat": 3}
    page.keyboard.press("End")  # the cursor in ops.start.config: the docs panel shows its fields
    page.locator("text=word every message starts with").first.wait_for()
    page.get_by_text("No errors").wait_for()
    launch = page.get_by_role("button", name="Launch Run")
    expect(launch).to_be_enabled()
    page.mouse.move(600, 560)  # off the text: no hover tooltip over the YAML in the picture
    screenshot("launchpad")

    launch.click()
    page.wait_for_url(RUN_URL)
    run_id = RUN_URL.search(page.url).group(1)
    page.get_by_text(re.compile(r"^RUN_(SUCCESS|FAILURE)$")).first.wait_for(timeout=90_000)
    _assert_succeeded(run_id)
    page.get_by_text("Success", exact=True).first.wait_for()  # the run's status tag
    # The foreach step's events: its tasks' output as log lines, then its op metadata.
    page.get_by_placeholder("Filter").fill("step:greet")
    page.keyboard.press("Enter")
    page.get_by_text("howdy howdy howdy, ada!").first.wait_for()
    page.get_by_text("artifacts written").first.wait_for()
    screenshot("finished-run")

    run = Flow("HelloFlow")[run_id]
    assert run.successful
    start = run["start"].task
    assert (start["greeting"].data, start["repeat"].data) == ("howdy", 3)
    messages = {t.data.message for t in run["greet"]}
    assert messages == {f"howdy howdy howdy, {n}!" for n in ["ada", "grace", "linus", "guido"]}
    assert run.data.best == "howdy howdy howdy, guido!"
    for task in run["greet"]:  # each task's own output, kept in the store
        assert task.stdout.strip() == task.data.message
    submitted = DagsterInstance.get().get_run_by_id(run_id).run_config
    assert submitted["ops"]["start"]["config"] == {"greeting": "howdy", "repeat": 3}
    _card_in_the_ui(page, screenshot, run)


def _card_in_the_ui(page, screenshot, run) -> None:
    """The join's @card: its text and table inline on the step's output (Markdown metadata),
    its HTML file linked there, and that file as a browser shows it."""
    [card] = run["pick"].task.record.cards
    page.get_by_placeholder("Filter").fill("step:pick")
    page.keyboard.press("Enter")
    page.get_by_text("card (text)").first.wait_for()
    page.get_by_text(card.location).first.wait_for()  # the path metadata: where the card is
    page.get_by_text("Show Markdown").first.click()  # Dagster draws Markdown metadata in a dialog
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Best message").first.wait_for()
    dialog.get_by_role("cell", name=run.data.best).first.wait_for()  # a row of the card's table
    screenshot("card-in-dagster")
    page.keyboard.press("Escape")
    page.goto(f"file://{card.location}")
    page.get_by_role("heading", name="Best message").wait_for()
    assert page.get_by_role("columnheader", name="score").count() >= 1
    screenshot("card")


def _assert_succeeded(run_id: str) -> None:
    """The run's status from the instance; on failure, the errors Dagster recorded."""
    instance = DagsterInstance.get()
    status = instance.get_run_by_id(run_id).status.value
    errors = [r.dagster_event.message for r in instance.all_logs(run_id)
              if r.dagster_event is not None and r.dagster_event.is_failure]
    assert status == "SUCCESS", f"run {run_id} {status}: {errors}"


def _type_over(page, editor, key: str, old, new) -> None:
    """Double-click the value of ``key`` and type ``new`` over it. On a loaded machine the
    editor can drop keystrokes (seen: "howdy" arriving as "ho"), so the typed value is read
    back from CodeMirror and the edit redone on what is there now, up to three times; the
    test still fails if the editor never holds the value."""
    current = old
    for _ in range(3):
        _token(editor, str(current)).dblclick()
        page.keyboard.type(str(new), delay=30)
        for _ in range(20):
            current = yaml.safe_load(_editor_text(page))["ops"]["start"]["config"][key]
            if current == new:
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"the launchpad editor holds {key}={current!r} after typing {new!r}")


def _token(editor, text: str):
    """One YAML token in the editor's text (not the line-number gutter)."""
    return editor.locator(".CodeMirror-code pre span span", has_text=re.compile(f"^{re.escape(text)}$"))


def _editor_text(page) -> str:
    """The launchpad's YAML as CodeMirror holds it (what Launch Run submits)."""
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
