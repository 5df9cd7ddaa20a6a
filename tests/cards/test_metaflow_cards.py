"""An unchanged Metaflow file with @card, side by side: run by Metaflow 2.19 and read with
`python flow.py card ...`, and run by `flowassets run` and read with `flowassets card ...`.
The cards are Metaflow's own (its card classes draw them), so their component data match."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.cards.helpers import (
    FLOWS, get_card, list_cards, metaflow_card_data, run_flow, user_components, without_ids,
)
from tests.metaflow_compat.harness import _metaflow_env

STEPS = ("start", "middle", "end")


def _metaflow_cards(where: Path) -> dict[str, list[tuple[dict, str]]]:
    """Run the file under Metaflow and read every step's cards with Metaflow's card commands."""
    shutil.copy(FLOWS / "metaflow_report_flow.py", where / "flow.py")
    env = _metaflow_env(where)

    def call(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "flow.py", *args], cwd=where, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    call("--quiet", "run")
    found = {}
    for step in STEPS:
        call("--quiet", "card", "list", step, "--as-json", "--file", f"{step}.json")
        cards = json.loads((where / f"{step}.json").read_text())["cards"]
        found[step] = []
        for card in cards:
            call("--quiet", "card", "get", step, f"{card['hash']}.html", "--hash", card["hash"])
            found[step].append((card, (where / f"{card['hash']}.html").read_text()))
    return found


def _flowassets_cards(where: Path) -> dict[str, list[tuple[dict, str]]]:
    run_id = run_flow("metaflow_report_flow.py", where)
    found = {}
    for step in STEPS:
        pathspec = f"MetaflowReportFlow/{run_id}/{step}"
        found[step] = [(c, get_card(pathspec, where, "--hash", c["hash"]))
                       for c in list_cards(pathspec, where)]
    return found


def test_unchanged_metaflow_file_draws_metaflows_cards(tmp_path):
    (tmp_path / "mf").mkdir()
    (tmp_path / "fa").mkdir()
    with ThreadPoolExecutor(2) as pool:
        reference = pool.submit(_metaflow_cards, tmp_path / "mf")
        ours = _flowassets_cards(tmp_path / "fa")
        theirs = reference.result()

    def kinds(cards: list[tuple[dict, str]]) -> list[tuple[str, str | None]]:
        return sorted((c["type"], c["id"]) for c, _ in cards)

    for step in STEPS:
        assert kinds(ours[step]) == kinds(theirs[step]), step
    assert kinds(ours["end"]) == [("no_such_card", None)]  # the error card; save_errors=False: none

    # start: Metaflow's default card, with the same appended components (Markdown, Table,
    # Artifact, ProgressBar, VegaChart, Image) in the same JSON.
    start_ours = metaflow_card_data(ours["start"][0][1])
    start_theirs = metaflow_card_data(theirs["start"][0][1])
    assert user_components(start_ours) == user_components(start_theirs)
    assert [c["type"] for c in user_components(start_ours)] == [
        "markdown", "table", "artifacts", "progressBar", "vegaChart", "image"]
    # The default card's own sections, with the task's artifacts as Metaflow shows them.
    page = next(c for c in start_ours["components"] if c["type"] == "page")
    titles = [s.get("title") for s in page["contents"]]
    assert {"Task Metadata", "Flow Parameters", "Artifacts", "DAG"} <= set(titles)
    artifacts = next(s for s in page["contents"] if s.get("title") == "Artifacts")
    assert {a["name"] for a in artifacts["contents"][0]["data"]} >= {"scores"}

    # middle: card ids as in Metaflow: each card has only what was appended to it (the
    # default card's task code quotes every string of the step, so compare the components).
    def middle(cards: dict, card_id: str) -> dict:
        return metaflow_card_data(next(h for c, h in cards["middle"] if c["id"] == card_id))

    notes = [next(c for c in middle(cards, "notes")["components"] if c["type"] == "page")
             for cards in (ours, theirs)]
    assert without_ids(notes[0]) == without_ids(notes[1])
    assert "only in the notes" in json.dumps(notes[0]) and "total 8" not in json.dumps(notes[0])
    summary = [user_components(middle(cards, "summary")) for cards in (ours, theirs)]
    assert summary[0] == summary[1]
    assert "total 8" in json.dumps(summary[0]) and "only in" not in json.dumps(summary[0])
    # end: Metaflow's error card naming the missing card type, in both.
    for cards in (ours, theirs):
        assert "no_such_card" in json.dumps(metaflow_card_data(cards["end"][0][1]))
