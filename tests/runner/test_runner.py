"""``Runner``: runs started from Python are ``flowassets run`` subprocesses; the caller gets the
client's Run. Blocking and async, a flowassets flow and an unchanged Metaflow file, keywords
refused before anything starts, resume."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from flowassets import Runner
from flowassets.client.instance import get_instance
from flowassets.errors import FlowassetsError, FlowDefinitionError, ParameterError
from flowassets.runner import RunNotStarted

ROOT = Path(__file__).resolve().parents[2]
PARAMS_FLOW = ROOT / "tests" / "flows" / "params_flow.py"
METAFLOW_FOREACH = ROOT / "tests" / "metaflow_files" / "flows" / "foreach.py"
REQUIRED_FLOW = Path(__file__).resolve().parent / "flows" / "required_flow.py"


def runs_in_instance() -> int:
    return get_instance(recover=False).get_runs_count()


def test_blocking_run_returns_the_finished_run_with_parameters_and_tags():
    tags = ["runner-tag-one", "runner-tag-two"]
    with Runner(str(PARAMS_FLOW), show_output=False).run(
            count=5, loud=True, config={"b": 2}, label="-dash", tags=tags) as running:
        assert (running.status, running.returncode) == ("successful", 0)
        run = running.run
        assert run.successful
        assert run.data.summary == (5, 0.5, True, "-dash", {"b": 2})
        # The tags reach `flowassets run --tag`, which records them on the Dagster run.
        assert running.command.argv.count("--tag") == 2
        recorded = json.dumps(get_instance(recover=False).get_run_by_id(run.id).tags)
        assert "runner-tag-one" in recorded and "runner-tag-two" in recorded
        assert f"Run {run.id}" in running.stdout  # the CLI's own output, kept
        stdout_file = running.command.log_files["stdout"]
    assert not Path(stdout_file).exists()  # leaving the block cleaned up


def test_show_output_echoes_the_run_here(capsys):
    Runner(str(PARAMS_FLOW)).run(count=1)
    out = capsys.readouterr().out
    assert "ok    start" in out and "ok    end" in out


def test_async_run_returns_while_it_runs_and_streams_its_output():
    async def scenario() -> tuple:
        async with Runner(str(PARAMS_FLOW)) as runner:
            running = await runner.async_run(count=3)
            status_at_start = running.status
            lines = [line async for _, line in running.stream_log("stdout")]
            await running.wait()
            return status_at_start, running.status, running.run.data.total, lines, running.run.id

    at_start, status, total, lines, run_id = asyncio.run(scenario())
    assert at_start in ("running", "successful")  # the run exists; it may have ended already
    assert status == "successful" and total == 1.5
    assert lines[0].startswith(f"Run {run_id} of ParamsFlow starting")
    assert any("ok    end" in line for line in lines)


def test_an_unchanged_metaflow_file_runs_through_the_runner():
    with Runner(str(METAFLOW_FOREACH), show_output=False).run(offset=10) as running:
        data = running.run.data
        assert (data.sizes, data.largest) == ([11, 12, 13], 13)
        assert [t.data.item for t in sorted(running.run["body"], key=lambda t: t.data.position)] \
            == ["x", "yy", "zzz"]


def test_wrong_keywords_are_refused_before_any_run_starts():
    runner = Runner(str(PARAMS_FLOW))
    with pytest.raises(ParameterError, match=r"flow ParamsFlow: no Parameter 'cuont'.*count"):
        runner.run(cuont=5)
    with pytest.raises(ParameterError, match=r"flow ParamsFlow: Parameter 'count' expects int"):
        runner.run(count="many")
    with pytest.raises(FlowassetsError, match=r"flow ParamsFlow: option 'max_workers' expects"):
        runner.run(max_workers=0)
    with pytest.raises(FlowassetsError, match=r"Runner takes no option 'metadata'"):
        Runner(str(PARAMS_FLOW), metadata="local")
    required = Runner(str(REQUIRED_FLOW))  # an unchanged Metaflow file
    with pytest.raises(ParameterError, match=r"flow RequiredFlow: Parameter 'size' is required"):
        required.run()
    with pytest.raises(ParameterError, match=r"flow RequiredFlow: no Parameter 'sise'"):
        required.run(sise=3)
    assert runner._commands == [] and required._commands == []  # no subprocess was started
    assert runs_in_instance() == 0


def test_a_flow_that_cannot_be_built_is_refused_when_the_runner_is_made(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("from flowassets import FlowSpec, step\n\n"
                      "class BrokenFlow(FlowSpec):\n"
                      "    @step\n    def start(self):\n        self.next(self.nowhere)\n\n"
                      "    @step\n    def end(self):\n        pass\n")
    with pytest.raises(FlowDefinitionError, match="BrokenFlow"):
        Runner(str(broken))
    assert runs_in_instance() == 0


def test_an_edited_file_is_read_again(tmp_path):
    flow = tmp_path / "edited.py"
    flow.write_text(PARAMS_FLOW.read_text())
    assert "count" in {p.name for p in Runner(str(flow)).graph.parameters}
    flow.write_text(PARAMS_FLOW.read_text().replace('"count"', '"amount"'))
    assert "amount" in {p.name for p in Runner(str(flow)).graph.parameters}


def test_a_command_that_ends_before_creating_a_run_says_why():
    # Without a cluster `flowassets run --with kubernetes` refuses before creating a run.
    with pytest.raises(RunNotStarted, match=r"ParamsFlow.*--with kubernetes needs a cluster"):
        Runner(str(PARAMS_FLOW), decospecs=["kubernetes"]).run()


def test_runs_in_another_directory_and_instance(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "home").mkdir(parents=True)
    with Runner(str(PARAMS_FLOW), show_output=False, cwd=str(elsewhere),
                env={"DAGSTER_HOME": str(elsewhere / "home")}).run() as running:
        assert running.run.data.total == 1.0
        assert running.run.flow._instance.root_directory == str(elsewhere / "home")
    assert runs_in_instance() == 0  # not this process's instance


def test_a_failed_run_then_resume_through_the_runner(tmp_path):
    flow = tmp_path / "resume_flow.py"
    shutil.copy(ROOT / "tests" / "flows" / "resume_flow.py", flow)
    runner = Runner(str(flow), show_output=False, cwd=str(tmp_path))
    failed = runner.run()
    assert (failed.status, failed.returncode, failed.run.successful) == ("failed", 1, False)
    assert "not fixed yet" in failed.stderr
    (tmp_path / "fixed").touch()
    with pytest.raises(FlowassetsError, match="unknown step 'nope'"):
        runner.resume(step_to_rerun="nope")
    resumed = runner.resume(origin_run_id=failed.run.id)
    assert resumed.status == "successful" and resumed.run.id != failed.run.id
    assert resumed.run.data.total == 12
    assert (tmp_path / "start_runs.txt").read_text() == "x"  # upstream steps were not re-run
    again = asyncio.run(_resume_async(runner, "body"))
    assert again.run.successful and (tmp_path / "body_runs.txt").read_text() == "xxxxxx"
    runner.cleanup()


async def _resume_async(runner: Runner, step: str):
    running = await runner.async_resume(step_to_rerun=step)
    return await running.wait()


def test_nbrunner_runs_a_class_from_a_module_file_from_that_file(tmp_path):
    from flowassets import NBRunner
    from tests.runner.support import FLOWS, load_without_registering

    cls = load_without_registering(FLOWS / "loaded_flow.py")
    runner = NBRunner(cls, show_output=False, base_dir=str(tmp_path))
    assert runner.tmp_flow_file is None and runner.runner.flow_file == str(FLOWS / "loaded_flow.py")
    assert runner.nbrun(factor=3).data.total == 18
    assert list(tmp_path.glob("*.py")) == []


SLEEPY_FLOW = '''\
import time
from flowassets import FlowSpec, step


class SleepyFlow(FlowSpec):
    @step
    def start(self):
        open("started", "w").close()
        time.sleep(600)
        self.next(self.end)

    @step
    def end(self):
        pass
'''


def test_wait_past_its_timeout_stops_the_run(tmp_path):
    flow = tmp_path / "sleepy.py"
    flow.write_text(SLEEPY_FLOW)

    async def scenario():
        runner = Runner(str(flow), show_output=False, cwd=str(tmp_path))
        running = await runner.async_run()
        while not (tmp_path / "started").exists() and running.returncode is None:
            await asyncio.sleep(0.05)  # the run is executing its start step: it can be canceled
        await running.wait(timeout=0.5)  # the start step sleeps 600 s
        return running

    running = asyncio.run(scenario())
    assert running.status == "timeout" and running.returncode is not None
    assert running.run.status == "CANCELED"  # SIGTERM, as Ctrl-C: the CLI ends the run so
