"""Running the report flows and reading their cards back, as a user does: subprocesses."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

FLOWS = Path(__file__).resolve().parent / "flows"


def flowassets(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())


def run_flow(file: str, cwd: Path) -> str:
    """``flowassets run`` a flow of flows/; returns the run id."""
    done = flowassets("run", str(FLOWS / file), "--run-id-file", "rid", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return (cwd / "rid").read_text().strip()


def list_cards(pathspec: str, cwd: Path, *options: str) -> list[dict]:
    done = flowassets("card", "list", pathspec, "--as-json", *options, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["cards"]


def get_card(pathspec: str, cwd: Path, *options: str) -> str:
    done = flowassets("card", "get", pathspec, *options, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def metaflow_card_data(html: str) -> dict:
    """The component JSON a Metaflow card page carries (``window.__MF_DATA__``)."""
    found = re.search(r'window\.__MF_DATA__\["[^"]*"\] = "([^"]+)"', html)
    assert found, html[:500]
    return json.loads(base64.b64decode(found.group(1)))


def without_ids(value: object) -> object:
    """Component JSON without the random component ids."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def user_components(card: dict) -> list:
    """The components the step appended: the first section of a Metaflow default card's page."""
    page = next(c for c in card["components"] if c.get("type") == "page")
    section = page["contents"][0]
    assert section["type"] == "section" and not section.get("title"), section
    return without_ids(section["contents"])
