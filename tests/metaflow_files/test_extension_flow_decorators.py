"""A flow decorator from a Metaflow extension package (tests/metaflow_files/extension), on an
unchanged Metaflow file run by Metaflow 2.19 and by ``flowassets run``: its ``flow_init`` puts
values in ``current`` in every task, with its options from the command line, Metaflow's
variables or their defaults, and both runs keep the same artifacts. A decorator overriding a
hook only Metaflow's runtime calls is refused before anything runs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.metaflow_compat.harness import (_FLOWASSETS_READER, _METAFLOW_READER, Comparison,
                                           _flowassets_env, _metaflow_env)
from tests.metaflow_files.harness import FLOWS, _run_and_read

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = Path(__file__).resolve().parent / "extension"


def _with_extension(env: dict[str, str]) -> dict[str, str]:
    """The test extension on PYTHONPATH; Metaflow loads extension packages from this checkout
    only (flowassets' own and the test's), not from another installed copy of flowassets."""
    paths = [str(ROOT), str(EXTENSION), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "METAFLOW_EXTENSIONS_SEARCH_DIRS": str(ROOT)}


def _both(tmp_path: Path, file: str, flow: str, mf_options: tuple[str, ...] = (),
          fa_options: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Comparison:
    runs = {}
    for system in ("metaflow", "flowassets"):
        where = tmp_path / system
        where.mkdir()
        shutil.copy(FLOWS / file, where / "flow.py")  # unchanged
        if system == "metaflow":
            cmd = [sys.executable, "flow.py", "--no-pylint", *mf_options, "run"]
            base, reader = _metaflow_env(where), _METAFLOW_READER
        else:
            cmd = [sys.executable, "-m", "flowassets.cli.main", "run", "flow.py", "--quiet",
                   *fa_options]
            base, reader = _flowassets_env(where), _FLOWASSETS_READER
        runs[system] = _run_and_read(cmd, where, {**_with_extension(base), **(env or {})},
                                     reader, flow, system)
    return Comparison(runs["metaflow"], runs["flowassets"])


def _values(run, step: str, name: str) -> list:
    """The step's values of ``name`` (the readers keep each as ``(type name, value)``)."""
    return sorted(task["data"][name][1] for task in run.tasks(step))


@pytest.mark.parametrize("mf_options, fa_options, env, greeting", [
    ((), (), {}, "hello"),  # the option's default
    # --greeting is handed to the tasks (get_top_level_options), --repeat is not: only the
    # launching process sees it, under Metaflow as under flowassets.
    (("--greeting", "hi", "--repeat", "2"), ("--greeting", "hi", "--repeat", "2"), {}, "hi"),
    ((), (), {"METAFLOW_GREETING": "hey"}, "hey"),  # click's METAFLOW_ prefix
    ((), (), {"METAFLOW_FLOW_GREETING": "hola", "METAFLOW_FLOW_REPEAT": "3"}, "hola hola hola"),
])
def test_flow_init_runs_in_every_task_with_options(tmp_path, mf_options, fa_options, env,
                                                   greeting):
    both = _both(tmp_path, "extension_flow_decorator.py", "GreetingFlow", mf_options,
                 fa_options, env)
    both.assert_same()
    fa = both.flowassets
    assert _values(fa, "start", "greeting") == [greeting]
    assert _values(fa, "each", "greeting") == [f"{greeting} 1", f"{greeting} 2"]
    assert _values(fa, "end", "final") == [greeting]
    steps = fa.tasks("start")[0]["data"]["steps"]  # Metaflow's graph was given to flow_init
    assert [value for _, value in steps[1]] == ["each", "end", "join", "start"]


def refused_at_build(both: Comparison, decorator: str) -> str:
    """Metaflow ran the flow (its runtime called the hook); flowassets refused it before
    anything ran. The refusal's line for ``decorator``, for the caller's own checks."""
    mf, fa = both.metaflow, both.flowassets
    assert mf.returncode == 0 and "audited by Metaflow's runtime" in mf.output, mf.output[-2000:]
    assert fa.returncode != 0
    assert "cannot be built into a Dagster job" in fa.output, fa.output[-2000:]
    assert "run this flow with Metaflow" in fa.output
    assert not fa.steps  # nothing ran: no run to read back
    return next(line for line in fa.output.splitlines() if f"@{decorator}" in line)


def test_decorator_with_a_hook_only_metaflow_calls_is_refused_at_build(tmp_path):
    refusal = refused_at_build(_both(tmp_path, "extension_step_hook.py", "AuditedFlow"),
                               "audit_steps")
    assert "AuditedFlow" in refusal and "flow_init_ctx" in refusal, refusal
