"""Run one unchanged Metaflow flow file three ways and read every task's artifacts back:

1. ``python flow.py run`` under Metaflow 2.19 (the reference),
2. ``flowassets run flow.py`` (the same file, not a byte changed),
3. ``flowassets.flow_to_job(FlowCls).execute_in_process()`` on the class imported from it.

Every run is a subprocess with its own home and store under the test's tmp dir; all runs of
all files start together (a bounded pool), as ``tests/metaflow_compat/harness.py`` does, whose
readers and comparison this module reuses.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.metaflow_compat.harness import (
    _FLOWASSETS_READER, _METAFLOW_READER, Comparison, SystemRun, _flowassets_env, _metaflow_env,
    _system_run, _wait, compare,
)

FLOWS = Path(__file__).resolve().parent / "flows"

# Imports the flow module as a user's Dagster code would, translates the real Metaflow class and
# runs the job in process on the instance in DAGSTER_HOME.
_JOB_RUNNER = r'''
import importlib, sys
import dagster as dg
import flowassets
sys.path.insert(0, ".")
cls = getattr(importlib.import_module("flow"), sys.argv[1])
assert type(cls).__module__ == "metaflow.flowspec", type(cls)
settings = eval(sys.argv[4]) if len(sys.argv) > 4 else {}  # FlowTranslatorSettings keywords
translator = flowassets.FlowTranslator(flowassets.FlowTranslatorSettings(**settings))
job = flowassets.flow_to_job(cls, translator,
                             configs=eval(sys.argv[3]) if len(sys.argv) > 3 else None)
result = job.execute_in_process(run_config=eval(sys.argv[2]), instance=dg.DagsterInstance.get(),
                                raise_on_error=False)
print("job success:", result.success)
sys.exit(0 if result.success else 1)
'''


@dataclass(frozen=True)
class ThreeWay:
    """One file's three runs; ``cli`` and ``job`` are each compared with ``metaflow``."""

    metaflow: SystemRun
    cli: SystemRun
    job: SystemRun

    def assert_same(self) -> None:
        Comparison(self.metaflow, self.cli).assert_same()
        assert self.job.returncode == 0, f"flow_to_job run failed:\n{self.job.output[-3000:]}"
        diffs = compare(self.metaflow, self.job)
        assert not diffs, "flow_to_job differs from Metaflow:\n" + "\n".join(diffs)


@dataclass(frozen=True)
class Case:
    file: str  # under flows/
    flow: str
    args: tuple[str, ...] = ()  # CLI arguments for both `run` commands
    job_config: str = "{}"  # run config for flow_to_job, matching args
    #: --config / --config-value options: Metaflow's top-level options (before `run`),
    #: options of `flowassets run`
    config_args: tuple[str, ...] = ()
    job_configs: str | None = None  # flow_to_job(configs=...) matching config_args
    #: FlowTranslatorSettings keywords for flow_to_job matching args (e.g. ``with_decorators``
    #: for a ``--with`` in args)
    job_settings: str | None = None


def _run_and_read(cmd: list[str], cwd: Path, env: dict[str, str], reader: str,
                  name: str, system: str) -> SystemRun:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    code, out = _wait(proc)
    read = subprocess.Popen([sys.executable, "-c", reader, name], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return _system_run(system, code, out, _wait(read))


def run_three_ways(cases: list[Case], tmp_path: Path, parallel: int = 6) -> dict[str, ThreeWay]:
    """All cases, all three ways, ``parallel`` subprocess pairs at a time."""
    jobs = {}
    for case in cases:
        for system in ("metaflow", "cli", "job"):
            where = tmp_path / case.flow / system
            where.mkdir(parents=True)
            shutil.copy(FLOWS / case.file, where / "flow.py")  # unchanged
            if system == "metaflow":
                cmd = [sys.executable, "flow.py", "--no-pylint", *case.config_args, "run",
                       "--max-workers", "4", *case.args]
                env, reader = _metaflow_env(where), _METAFLOW_READER
            elif system == "cli":
                cmd = [sys.executable, "-m", "flowassets.cli.main", "run", "flow.py", "--quiet",
                       "--max-workers", "4", *case.config_args, *case.args]
                env, reader = _flowassets_env(where), _FLOWASSETS_READER
            else:
                cmd = [sys.executable, "-c", _JOB_RUNNER, case.flow, case.job_config,
                       *([case.job_configs or "None"] if case.job_configs or case.job_settings
                         else []), *([case.job_settings] if case.job_settings else [])]
                env, reader = _flowassets_env(where), _FLOWASSETS_READER
            jobs[(case.flow, system)] = (cmd, where, env, reader, case.flow, system)
    with ThreadPoolExecutor(parallel) as pool:
        futures = {key: pool.submit(_run_and_read, *args) for key, args in jobs.items()}
        results = {key: f.result() for key, f in futures.items()}
    return {case.flow: ThreeWay(results[(case.flow, "metaflow")], results[(case.flow, "cli")],
                                results[(case.flow, "job")]) for case in cases}
