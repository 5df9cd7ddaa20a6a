"""The `flowassets` command as a user runs it: a subprocess, a new client process after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FLOWS = ROOT / "tests" / "flows"


def flowassets(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())


def read_back(code: str, cwd: Path) -> object:
    """Run client code in a fresh process, as a user would after the run."""
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                         timeout=120, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_run_prints_steps_and_run_id_and_client_reads_back(tmp_path):
    done = flowassets("run", str(EXAMPLES / "hello_flow.py"), "--greeting", "hey",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = (tmp_path / "rid.txt").read_text().strip()
    assert run_id in done.stdout
    for step in ("start", "greet", "pick", "end"):
        assert f"ok    {step}" in done.stdout
    assert "4 tasks" in done.stdout  # the foreach body
    assert "[greet/2-2] hey hey, linus!" in done.stdout  # task output, prefixed (step 2, item 2)
    best = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('HelloFlow')['{run_id}']; print(json.dumps([r.successful, r.data.best, "
        "sorted(t.data.message for t in r['greet'])]))", tmp_path)
    assert best == [True, "hey hey, guido!",
                    ["hey hey, ada!", "hey hey, grace!", "hey hey, guido!", "hey hey, linus!"]]


def test_bad_parameter_value_is_refused_before_a_run(tmp_path):
    done = flowassets("run", str(EXAMPLES / "hello_flow.py"), "--repeat", "many", cwd=tmp_path)
    assert done.returncode == 1
    assert "HelloFlow" in done.stderr and "'repeat'" in done.stderr and "int" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (Path(os.environ["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"]) / "HelloFlow").exists()


def test_unknown_option_names_the_flow_parameters(tmp_path):
    done = flowassets("run", str(EXAMPLES / "hello_flow.py"), "--colour", "red", cwd=tmp_path)
    assert done.returncode == 1
    assert "--colour" in done.stderr and "--greeting" in done.stderr


def test_failing_step_exits_nonzero_with_the_step_error_not_a_traceback_wall(tmp_path):
    done = flowassets("run", str(FLOWS / "failing_flow.py"), cwd=tmp_path)
    assert done.returncode == 1
    assert "Step 'boom' failed" in done.stderr
    assert "42 rows missing" in done.stderr
    assert "dagster/_core" not in done.stderr


def test_show_prints_graph_with_docstrings(tmp_path):
    done = flowassets("show", str(EXAMPLES / "hello_flow.py"), cwd=tmp_path)
    assert done.returncode == 0
    assert "Step start (foreach) => foreach names: greet" in done.stdout
    assert "Join: keep the best-scoring message (and report the scores on a card)." in done.stdout
    assert "--greeting (str, default 'hello')" in done.stdout


def test_logs_prints_task_output(tmp_path):
    flowassets("run", str(EXAMPLES / "hello_flow.py"), "--run-id-file", "rid.txt", cwd=tmp_path)
    run_id = (tmp_path / "rid.txt").read_text().strip()
    done = flowassets("logs", f"HelloFlow/{run_id}/greet/2-1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello hello, grace!"


def test_python_flow_file_run_works_like_metaflow(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLES / "merge_flow.py"), "run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "total=65 base=10 shared=same everywhere only_add=True" in done.stdout


def test_dagster_job_execute_runs_an_example(tmp_path):
    done = subprocess.run(["dagster", "job", "execute", "-f", str(ROOT / "definitions.py"),
                           "-j", "MergeFlow"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    total = read_back("import json; from flowassets.client import Flow; "
                      "print(json.dumps(Flow('MergeFlow').latest_successful_run.data.total))", tmp_path)
    assert total == 65


def test_a_run_that_fails_outside_any_step_prints_the_runs_own_error(tmp_path, capsys):
    """dagster-k8s's k8s executor outside a cluster cannot start (no in-cluster config): no step
    ever runs, and the summary says why instead of only "FAILED: 0/4 steps"."""
    from flowassets.cli.launch import LaunchRequest, launch
    from flowassets.cli.main import _summary

    flow = str(Path(__file__).resolve().parents[1] / "flows" / "params_flow.py")
    result = launch(LaunchRequest(path=flow, flow_name="ParamsFlow", quiet=True,
                                  translator_options={"executor": "k8s"}))
    assert not result.success and result.steps_done == 0
    ((step, reason),) = result.failures
    assert step is None and "Service host/port is not set" in reason
    _summary("ParamsFlow", result, flow)
    err = capsys.readouterr().err
    assert "The run failed:" in err and "Service host/port is not set" in err
