"""A real notebook (nbclient on an ipykernel kernel) reads a flowassets run with Metaflow's own
client, opted in as a user would: METAFLOW_DEFAULT_METADATA in the kernel's environment."""

from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient

from tests.metaflow_client.test_metaflow_client import ROOT, _env, _flowassets_run

CELLS = [
    "from metaflow import Flow, get_metadata",
    "run = Flow('MFClientUpstreamFlow').latest_successful_run\n"
    "print('metadata', get_metadata().split('@')[0])\n"
    "print('run', run.id, run.successful, run.data.total)\n"
    "print('lengths', sorted(t.data.length for t in run['measure']))\n"
    "print('table', run['join'].task.data.table['length'].tolist())",
]


def test_notebook_reads_a_flowassets_run_through_metaflow(tmp_path, monkeypatch):
    run_id = _flowassets_run(tmp_path, "upstream.py", "--scale", "5")
    for name, value in _env(tmp_path, opt_in=True).items():
        if name.startswith(("METAFLOW_", "DAGSTER_", "FLOWASSETS_")) or name == "PYTHONPATH":
            monkeypatch.setenv(name, value)
    assert str(ROOT) in os.environ["PYTHONPATH"].split(os.pathsep)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in notebook.cells[1].outputs)
    assert "metadata flowassets" in text
    assert f"run {run_id} True 30" in text
    assert "lengths [5, 10, 15]" in text
    assert "table [5, 10, 15]" in text
