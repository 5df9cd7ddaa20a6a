"""``--with DECORATOR[:k=v,...]`` from every entry point, on real runs (subprocesses, the
test's own Dagster instance): the decorator reaches every step that lacks it, a step's own
decorator wins (Metaflow's rule), and a bad value is refused before a run exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

FLOWS = Path(__file__).resolve().parent / "flows"
FLAKY = FLOWS / "flaky_first_attempt.py"
RAISING = FLOWS / "raising_flow.py"
#: --with retry, without Metaflow's default 2 minutes between attempts
RETRY_NOW = "retry:minutes_between_retries=0"


def flowassets(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def runs_in_instance() -> int:
    return dg.DagsterInstance.get().get_runs_count()


def test_a_bad_with_value_is_refused_before_any_run(tmp_path):
    done = flowassets("run", str(FLAKY), "--with", "retry:times=-1", cwd=tmp_path)
    assert done.returncode == 1
    assert "flow FlakyFirstAttemptFlow, step 'start'" in done.stderr
    assert "@retry(times=-1): times must be a whole number >= 0" in done.stderr
    assert "added to every step by --with retry:times=-1" in done.stderr
    assert "Traceback" not in done.stderr
    # A step with its own @retry keeps it: the bad --with value is not checked there.
    assert "step 'keep'" not in done.stderr
    assert runs_in_instance() == 0
    # An unknown argument and an unknown decorator: refused too, naming what exists.
    done = flowassets("run", str(FLAKY), "--with", "retry:tiems=2", cwd=tmp_path)
    assert done.returncode == 1 and "@retry has no argument 'tiems'" in done.stderr
    assert "known: times, minutes_between_retries" in done.stderr
    done = flowassets("run", str(FLAKY), "--with", "retyr", cwd=tmp_path)
    assert done.returncode == 1 and "flow FlakyFirstAttemptFlow: --with retyr" in done.stderr
    assert "resources, kubernetes, batch, retry, timeout, catch" in done.stderr
    # A decorator flowassets refuses in a flow file is refused from --with with its message.
    done = flowassets("run", str(FLAKY), "--with", "pypi", cwd=tmp_path)
    assert done.returncode == 1
    assert "@pypi is not supported: flowassets does not build per-step environments" in done.stderr
    assert "added to every step by --with pypi" in done.stderr
    assert runs_in_instance() == 0
    # The count is real: a run that starts is counted.
    done = flowassets("run", str(FLAKY), "--quiet", cwd=tmp_path)
    assert done.returncode == 1 and "start fails on its first attempt" in done.stderr
    assert runs_in_instance() == 1


def test_with_retry_makes_a_flaky_flow_succeed_and_with_card_cards_every_step(tmp_path):
    done = flowassets("run", str(FLAKY), "--with", RETRY_NOW, "--with", "card", "--quiet",
                      "--run-id-file", "rid.txt", cwd=tmp_path, KEEP_OK="1")
    assert done.returncode == 0, done.stderr
    from flowassets.client import Flow

    run = Flow("FlakyFirstAttemptFlow")[(tmp_path / "rid.txt").read_text().strip()]
    assert run.successful
    assert run["start"].task["start_attempt"].data == 1
    assert sorted(t["attempt"].data for t in run["work"]) == [1, 1, 1]
    assert run["join"].task["squares"].data == [1, 4, 9]
    assert run["keep"].task["keep_attempt"].data == 0  # its own @retry(times=0), never retried
    assert run["end"].task["env_seen"].data is None  # no --with environment here
    listed = flowassets("card", "list", f"FlakyFirstAttemptFlow/{run.id}/work", "--as-json",
                        cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [c["type"] for c in json.loads(listed.stdout)["cards"]] == ["default"] * 3
    for step in ("start", "join", "keep", "end"):
        listed = flowassets("card", "list", f"FlakyFirstAttemptFlow/{run.id}/{step}", cwd=tmp_path)
        assert "Found 1 card(s)" in listed.stdout, (step, listed.stdout, listed.stderr)


def test_a_step_keeps_its_own_retry_under_with_retry(tmp_path):
    """Metaflow's _attach_decorators_to_step: --with retry:times=3 skips a step that has
    @retry(times=0), so its first failure fails the run while the other steps are retried."""
    done = flowassets("run", str(FLAKY), "--with", "retry:times=3,minutes_between_retries=0",
                      "--quiet", "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 1
    assert "Step 'keep' failed" in done.stderr and "keep fails on its first attempt" in done.stderr
    from flowassets.client import Flow

    run = Flow("FlakyFirstAttemptFlow")[(tmp_path / "rid.txt").read_text().strip()]
    assert run["join"].task["squares"].data == [1, 4, 9]  # retried steps before it succeeded


def test_with_catch_stores_the_exception(tmp_path):
    failed = flowassets("run", str(RAISING), "--quiet", cwd=tmp_path)
    assert failed.returncode == 1 and "3 rows are bad" in failed.stderr
    done = flowassets("run", str(RAISING), "--with", "catch:var=err", "--quiet",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from flowassets.client import Flow

    run = Flow("RaisingFlow")[(tmp_path / "rid.txt").read_text().strip()]
    err = run["risky"].task["err"].data
    assert (err.type, err.message) == ("ValueError", "3 rows are bad")
    assert run["risky"].task["before"].data == "set before the error"
    assert run["end"].task["seen"].data == ("ValueError", "3 rows are bad")
    # Every step has the @catch; one that raised nothing sets err to None (Metaflow's
    # task_post_step), end too, after its body read risky's.
    assert run["start"].task["err"].data is None and run["end"].task["err"].data is None


def test_python_flow_file_run_with_and_resume_with(tmp_path):
    """``python flow.py run --with`` (and before the command, as Metaflow's top-level option),
    and ``resume --with``: Metaflow's resume takes --with too."""
    failed = subprocess.run([sys.executable, str(FLAKY), "run", "--quiet"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KEEP_OK": "1"})
    assert failed.returncode == 1 and "start fails on its first attempt" in failed.stderr
    resumed = flowassets("resume", str(FLAKY), "--with", RETRY_NOW, "--run-id-file", "rid.txt",
                         cwd=tmp_path, KEEP_OK="1")
    assert resumed.returncode == 0, resumed.stderr
    from flowassets.client import Flow

    run = Flow("FlakyFirstAttemptFlow")[(tmp_path / "rid.txt").read_text().strip()]
    assert run.successful and run["start"].task["start_attempt"].data == 1
    bad = flowassets("resume", str(FLAKY), "--with", "timeout:seconds=-5", cwd=tmp_path)
    assert bad.returncode == 1 and "--with timeout:seconds=-5" in bad.stderr
    assert runs_in_instance() == 2
    top = subprocess.run([sys.executable, str(FLAKY), "--with", RETRY_NOW, "run", "--quiet"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "KEEP_OK": "1"})
    assert top.returncode == 0, top.stderr
    assert Flow("FlakyFirstAttemptFlow").latest_run["start"].task["start_attempt"].data == 1


def test_runner_decospecs(tmp_path):
    from flowassets.runner import Runner
    from flowassets.runner.process import RunNotStarted

    with Runner(str(FLAKY), show_output=False, decospecs=[RETRY_NOW],
                env={"KEEP_OK": "1"}).run() as running:
        assert running.run.successful
        assert running.run["start"].task["start_attempt"].data == 1
    with pytest.raises(RunNotStarted, match=r"@retry\(times=-1\).*--with retry:times=-1"):
        Runner(str(FLAKY), show_output=False).run(decospecs=["retry:times=-1"])
    from flowassets import FlowassetsError

    with pytest.raises(FlowassetsError, match="--with retyr.*flowassets runs these"):
        Runner(str(FLAKY), show_output=False, decospecs=["retyr"])
    assert runs_in_instance() == 1


def test_translator_setting_with_decorators(monkeypatch):
    from flowassets import flow_to_job
    from flowassets.client import Flow
    from flowassets.translate.translator import FlowTranslator, FlowTranslatorSettings
    from tests.conftest import load_flow

    monkeypatch.setenv("KEEP_OK", "1")
    cls = load_flow(FLAKY)
    settings = FlowTranslatorSettings(with_decorators=[RETRY_NOW, "environment:vars={\"A\": \"1\"}"])
    result = flow_to_job(cls, FlowTranslator(settings)).execute_in_process(
        instance=dg.DagsterInstance.get(), raise_on_error=False)
    assert result.success
    assert Flow("FlakyFirstAttemptFlow")[result.run_id]["start"].task["start_attempt"].data == 1
    from flowassets import FlowassetsError

    with pytest.raises(FlowassetsError, match=r"step 'start'.*@timeout\(hours='x'\).*--with timeout:hours=x"):
        flow_to_job(cls, FlowTranslator(FlowTranslatorSettings(with_decorators=["timeout:hours=x"])))


def test_check_takes_with(tmp_path):
    assert flowassets("check", str(FLAKY), "--with", RETRY_NOW, cwd=tmp_path).returncode == 0
    bad = flowassets("check", str(FLAKY), "--with", "resources:memory=lots", cwd=tmp_path)
    assert bad.returncode == 1
    assert "@resources(memory='lots')" in bad.stderr and "--with resources:memory=lots" in bad.stderr
