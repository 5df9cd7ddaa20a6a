"""A real notebook: nbclient executes an .ipynb on a Jupyter (ipykernel) kernel whose cells
define flows and run them through NBRunner, async NBRunner and flow_to_job in the kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK_FLOW = '''\
from flowassets import FlowSpec, Parameter, step

class NotebookFlow(FlowSpec):
    alpha = Parameter("alpha", default=2)

    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.v = self.input * self.alpha
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.v for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass
'''

RUN_IT = '''\
import glob
from flowassets import NBRunner
run = NBRunner(NotebookFlow).nbrun(alpha=5)
print("total:", run.data.total, run.successful)
print("left behind:", glob.glob("NotebookFlow_*.py"))
'''

# An unchanged Metaflow flow, and the call that runs it after the class in the same cell (the
# file NBRunner writes stops at the class: it must not run NBRunner again).
METAFLOW_CELL = '''\
from metaflow import FlowSpec, Parameter, step

class MetaflowNotebookFlow(FlowSpec):
    greeting = Parameter("greeting", default="hi")

    @step
    def start(self):
        self.message = self.greeting + "!"
        self.next(self.end)

    @step
    def end(self):
        pass

from flowassets import NBRunner
print("metaflow:", NBRunner(MetaflowNotebookFlow, show_output=False).nbrun(greeting="hello").data.message)
'''

ASYNC_RUN = '''\
runner = NBRunner(NotebookFlow, show_output=False)
running = await runner.async_run(alpha=1)
await running.wait()
print("async:", running.status, running.run.data.total)
runner.cleanup()
'''

WRONG_NAME = '''\
try:
    NBRunner(NotebookFlow).nbrun(alfa=1)
except Exception as exc:
    print("refused:", type(exc).__name__, exc)
'''

IN_PROCESS = '''\
from flowassets import flow_to_job
from flowassets.client.instance import get_instance
result = flow_to_job(NotebookFlow).execute_in_process(
    instance=get_instance(), run_config={"ops": {"start": {"config": {"alpha": 10}}}})
from flowassets.client import Flow
print("in process:", Flow("NotebookFlow")[result.run_id].data.total)
'''

IMPORTS_ELSEWHERE = 'from flowassets import FlowSpec as Spec, step as flow_step\n'
ORPHAN_FLOW = '''\
class OrphanFlow(Spec):
    @flow_step
    def start(self):
        self.next(self.end)

    @flow_step
    def end(self):
        pass
'''
ORPHAN_RUN = '''\
try:
    NBRunner(OrphanFlow)
except Exception as exc:
    print("orphan:", type(exc).__name__, exc)
'''


def test_a_notebook_defines_and_runs_flows(tmp_path: Path):
    cells = [NOTEBOOK_FLOW, RUN_IT, METAFLOW_CELL, ASYNC_RUN, WRONG_NAME, IN_PROCESS,
             IMPORTS_ELSEWHERE, ORPHAN_FLOW, ORPHAN_RUN]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(notebook, tmp_path / "flows.ipynb")
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = [_text(cell) for cell in notebook.cells]
    assert "total: 30 True" in out[1]
    assert "ok    end" in out[1]  # show_output: the run's progress in the cell's output
    assert "left behind: []" in out[1]  # the cell's file was removed
    assert "metaflow: hello!" in out[2]
    assert "async: successful 6" in out[3]
    assert "refused: ParameterError flow NotebookFlow: no Parameter 'alfa'" in out[4]
    assert "in process: 60" in out[5]
    assert "orphan: FlowassetsError flow OrphanFlow: its cell does not run on its own" in out[8]
    assert "NameError" in out[8]
    assert sorted(p.name for p in tmp_path.glob("*.py")) == []


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)
