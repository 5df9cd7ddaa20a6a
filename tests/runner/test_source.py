"""Flow classes whose module is not in sys.modules: read through their functions' code objects.

A module executed without a ``sys.modules`` entry, and a notebook cell run by IPython's
InteractiveShell (the engine inside Jupyter's kernel; tests/runner/test_notebook.py runs a
real kernel). ``inspect.getsource`` fails for both; each now translates, and runs in this
process, while what would import the flow elsewhere is refused when the job is built.
"""

from __future__ import annotations

import builtins
import inspect
import sys
from typing import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from flowassets import flow_to_job
from flowassets.authoring.source import flow_file
from flowassets.client import Flow
from flowassets.client.instance import get_instance
from flowassets.errors import FlowDefinitionError
from flowassets.graph.build import build_graph
from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings
from tests.runner.support import FLOWS, load_without_registering



def test_a_module_run_without_sys_modules_entry_translates_and_runs():
    cls = load_without_registering(FLOWS / "loaded_flow.py")
    with pytest.raises((OSError, TypeError)):
        inspect.getsource(cls)  # why it was refused as "source unavailable"
    graph = build_graph(cls)
    assert graph.file == str(FLOWS / "loaded_flow.py")  # a task pod can import it from there
    assert graph["body"].foreach_var is None and graph["start"].foreach_var == "items"
    source_lines = (FLOWS / "loaded_flow.py").read_text().splitlines()
    assert source_lines[graph["join"].line - 1].strip() == "def join(self, inputs):"
    result = flow_to_job(cls).execute_in_process(
        instance=get_instance(), run_config={"ops": {"start": {"config": {"factor": 5}}}})
    assert result.success
    assert Flow("LoadedFlow")[result.run_id].data.total == 30


def test_a_class_made_by_exec_is_still_refused_with_a_fix():
    namespace: dict = {}
    exec("from flowassets import FlowSpec, step\n"  # noqa: S102 - the case under test
         "class ExecFlow(FlowSpec):\n"
         "    @step\n"
         "    def start(self):\n"
         "        self.next(self.end)\n"
         "    @step\n"
         "    def end(self):\n"
         "        pass\n", namespace)
    with pytest.raises(FlowDefinitionError) as caught:
        build_graph(namespace["ExecFlow"])
    assert "source-unavailable" in caught.value.codes
    assert "notebook cell" in str(caught.value)


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    """IPython puts its own ``__main__`` module and a few builtins in place: put them back after,
    so the rest of this test process does not look like a notebook."""
    main, names = sys.modules["__main__"], set(vars(builtins))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    yield InteractiveShell.instance(config=config)
    InteractiveShell.clear_instance()
    sys.modules["__main__"] = main
    for name in set(vars(builtins)) - names:
        delattr(builtins, name)


def run_cell(shell: InteractiveShell, code: str) -> None:
    result = shell.run_cell(code)
    result.raise_error()


CELL_FLOW = '''
from flowassets import FlowSpec, Parameter, kubernetes, step

class CellFlow(FlowSpec):
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
        self.where = self.script_name
'''


def test_a_notebook_cell_flow_translates_and_runs_in_this_process(shell):
    run_cell(shell, CELL_FLOW)
    cls = shell.user_ns["CellFlow"]
    with pytest.raises((OSError, TypeError)):
        inspect.getsource(cls)
    graph = build_graph(cls)
    assert graph.file is None  # nothing another process could import
    cell = cls.start.__code__.co_filename
    assert graph["body"].file == cell and cell.startswith("<ipython-input-")
    assert CELL_FLOW.strip("\n").splitlines()[graph["body"].line - 1].strip() == "def body(self):"
    assert flow_file(cls) is None
    # Tasks are forked from this process, which has the class: the foreach runs.
    result = flow_to_job(cls).execute_in_process(
        instance=get_instance(), run_config={"ops": {"start": {"config": {"alpha": 5}}}})
    assert result.success
    run = Flow("CellFlow")[result.run_id]
    assert (run.data.total, run.data.where) == (30, cell)


def test_a_notebook_flow_is_refused_where_another_process_must_import_it(shell):
    run_cell(shell, CELL_FLOW.replace("class CellFlow", "class PodCellFlow").replace(
        "    @step\n    def body", "    @kubernetes(cpu=1)\n    @step\n    def body"))
    cls = shell.user_ns["PodCellFlow"]
    with pytest.raises(FlowDefinitionError) as caught:
        flow_to_job(cls)
    [problem] = caught.value.problems
    assert (problem.code, problem.flow, problem.step) == ("flow-without-file", "PodCellFlow", "body")
    assert "Kubernetes" in problem.message and "NBRunner" in problem.fix
    # Another executor runs steps in other processes too: refused for the whole flow.
    run_cell(shell, CELL_FLOW)  # this test's own cell: never rely on another test's
    with pytest.raises(FlowDefinitionError) as caught:
        flow_to_job(shell.user_ns["CellFlow"],
                    FlowTranslator(FlowTranslatorSettings(executor="multiprocess")))
    assert "'multiprocess' executor" in str(caught.value)


def test_an_unchanged_metaflow_flow_in_a_cell_translates(shell):
    run_cell(shell, '''
from metaflow import FlowSpec as MetaflowSpec, step as metaflow_step

class MetaflowCellFlow(MetaflowSpec):
    @metaflow_step
    def start(self):
        self.x = 41
        self.next(self.end)

    @metaflow_step
    def end(self):
        self.y = self.x + 1
''')
    cls = shell.user_ns["MetaflowCellFlow"]
    result = flow_to_job(cls).execute_in_process(instance=get_instance())
    assert result.success
    assert Flow("MetaflowCellFlow")[result.run_id].data.y == 42
