"""@card in flowassets' own API: drawn when the task ends, kept in the store, read back with
`flowassets card list|get|view` and `python flow.py card ...`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cards.helpers import FLOWS, flowassets, get_card, list_cards, run_flow


def test_own_flow_cards_components_ids_and_errors(tmp_path):
    run_id = run_flow("own_report_flow.py", tmp_path)
    base = f"OwnReportFlow/{run_id}"

    start = list_cards(f"{base}/start", tmp_path)
    assert [(c["type"], c["id"]) for c in start] == [("default", None)]
    page = get_card(f"{base}/start", tmp_path)
    assert "<h1>Scores</h1>" in page and "<strong>best</strong>" in page  # Markdown drawn
    assert "<th>name</th><th>score</th>" in page and "<td>grace</td><td>5</td>" in page  # Table
    assert '<progress max="10" value="7">' in page  # ProgressBar
    assert "vegaEmbed(" in page and '"mark": "bar"' in page  # VegaChart
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page  # Image, as a data URI
    assert "{&#x27;ada&#x27;: 3, &#x27;grace&#x27;: 5}" in page  # Artifact, and the artifacts table
    assert "Flow Parameters" in page and "alpha" in page  # the default card's task sections

    middle = {c["id"]: c for c in list_cards(f"{base}/middle", tmp_path)}
    assert set(middle) == {"notes", "summary"}
    notes = get_card(f"{base}/middle", tmp_path, "--id", "notes")
    summary = get_card(f"{base}/middle", tmp_path, "--id", "summary")
    assert "only in the notes" in notes and "only in the notes" not in summary
    assert "total 8" in summary and "total 8" not in notes
    # Two editable cards with ids: append() has no default card and drops, as in Metaflow.
    assert "in the summary" not in notes + summary and "<title>Notes</title>" in notes

    # A card that cannot be drawn never fails its task: an error card, or nothing when
    # save_errors=False.
    end = list_cards(f"{base}/end", tmp_path)
    assert [(c["type"], c["id"]) for c in end] == [("no_such_card", None)]
    error = get_card(f"{base}/end", tmp_path)
    assert "Card Render Failed" in error and "no_such_card" in error
    log = flowassets("logs", f"{base}/middle", cwd=tmp_path).stdout
    assert "[@card WARNING]" in log and "'missing'" in log


def test_view_and_get_write_and_print_files_in_both_command_forms(tmp_path):
    run_id = run_flow("own_report_flow.py", tmp_path)
    viewed = flowassets("card", "view", f"OwnReportFlow/{run_id}/start", cwd=tmp_path)
    assert viewed.returncode == 0, viewed.stderr
    path = Path(viewed.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.read_text().startswith("<!DOCTYPE html>")
    assert str(path).startswith(os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"])  # in the store

    # Metaflow's form: `python flow.py card get RUN/STEP [FILE]` (FILE after the options too).
    got = subprocess.run([sys.executable, str(FLOWS / "own_report_flow.py"), "card", "get",
                          f"{run_id}/middle", "--id", "notes", "notes.html"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert got.returncode == 0, got.stderr
    assert "only in the notes" in (tmp_path / "notes.html").read_text()
    # STEP alone: the latest run; --file writes the page where asked.
    view = flowassets("card", "view", str(FLOWS / "own_report_flow.py"), "middle", "--id",
                      "summary", "--file", "s.html", cwd=tmp_path)
    assert view.returncode == 0, view.stderr
    assert "total 8" in (tmp_path / "s.html").read_text()

    ambiguous = flowassets("card", "get", f"OwnReportFlow/{run_id}/middle", cwd=tmp_path)
    assert ambiguous.returncode == 1 and "2 cards match" in ambiguous.stderr
    assert "--id" in ambiguous.stderr
    missing = flowassets("card", "get", f"OwnReportFlow/{run_id}/start", "--type", "blank",
                         cwd=tmp_path)
    assert missing.returncode == 1 and "Card not found" in missing.stderr
