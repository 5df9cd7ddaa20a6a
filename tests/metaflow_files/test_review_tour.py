"""The README's tour, as written: the unchanged Metaflow file ``examples/metaflow_tour/
review_flow.py`` (IncludeFile, Config with config_expr in @resources, a Parameter default
computed from the configs) gives Metaflow 2.19's artifacts under ``flowassets run``, and its
notebook ``review.ipynb`` runs it through flowassets' Runner (blocking and async) on a real
Jupyter kernel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.metaflow_compat.harness import (
    _FLOWASSETS_READER, _METAFLOW_READER, Comparison, _flowassets_env, _metaflow_env,
)
from tests.metaflow_files.harness import _run_and_read

TOUR = Path(__file__).resolve().parents[2] / "examples" / "metaflow_tour"
SETTINGS = '{"cpu": 2, "threshold": 15}'


def _copy(to: Path) -> Path:
    shutil.copytree(TOUR, to, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return to


def test_review_flow_under_flowassets_matches_metaflow(tmp_path):
    mf, fa = _copy(tmp_path / "metaflow"), _copy(tmp_path / "flowassets")
    metaflow = _run_and_read(
        [sys.executable, "review_flow.py", "--no-pylint", "--config-value", "settings", SETTINGS,
         "run"], mf, _metaflow_env(mf), _METAFLOW_READER, "ReviewFlow", "metaflow")
    flowassets = _run_and_read(
        [sys.executable, "-m", "flowassets.cli.main", "run", "review_flow.py", "--quiet",
         "--config-value", "settings", SETTINGS], fa, _flowassets_env(fa), _FLOWASSETS_READER,
        "ReviewFlow", "cli")
    Comparison(metaflow, flowassets).assert_same()


def test_review_flow_refuses_a_bad_config_before_running(tmp_path):
    where = _copy(tmp_path / "bad")
    done = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "run", "review_flow.py",
                           "--config-value", "settings", '{"cpu": "lots", "threshold": 1}'],
                          cwd=where, env=_flowassets_env(where), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ReviewFlow" in done.stderr and "review" in done.stderr and "cpu" in done.stderr
    assert "Traceback" not in done.stderr


def test_review_notebook_runs_through_the_runner(tmp_path):
    where = _copy(tmp_path / "nb")
    notebook = nbformat.read(where / "review.ipynb", as_version=4)
    env = _flowassets_env(where)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(where)}})
    import os

    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    outputs = ["".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
               for cell in notebook.cells if cell.cell_type == "code"]
    assert outputs[0].strip() == "successful ['ada', 'dee']", outputs
    assert outputs[1].splitlines() == [
        "successful ['ada', 'cyd', 'dee'] {'cpu': 2, 'threshold': 10}", "10"], outputs
