"""Config and config_expr with flowassets' own API, through ``flowassets run`` / ``resume`` and
``flow_to_job``: where values come from (--config FILE, --config-value JSON, Metaflow's
environment variables, Python), what a step sees, a callable Parameter default reading the
configs once per run, bad values refused before any run, and resume reusing the values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli import flowassets, read_back

FLOW = '''
import os

from flowassets import Config, FlowSpec, Parameter, config_expr, environment, project, resources, step


def lines(text):
    """KEY=VALUE lines into a mapping."""
    return dict(line.split("=", 1) for line in text.strip().splitlines())


def budget_default(ctx):
    with open("default-calls.txt", "a") as handle:  # how many times it runs, for the test
        handle.write(ctx.parameter_name + "\\n")
    return ctx.configs.train.epochs * 100 + len(ctx.flow_name)


@project(name=config_expr("train").project)
class TrainConfigFlow(FlowSpec):
    train = Config("train", default="train.json", help="training settings")
    owners = Config("owners", default_value="team=ml", parser=lines)
    budget = Parameter("budget", type=int, default=budget_default)
    rate = Parameter("rate", default=config_expr("train.rate"))

    @environment(vars={"MODEL": config_expr("train.model.upper()")})
    @resources(cpu=train.cpu)
    @step
    def start(self):
        self.model_env = os.environ["MODEL"]
        try:
            self.train.epochs = 0
            self.immutable = False
        except TypeError:
            self.immutable = True
        self.next(self.end)

    @step
    def end(self):
        if os.path.exists("fail-end"):
            raise RuntimeError("asked to fail")
        self.summary = [self.train.epochs, self.train["model"], self.owners.team, self.budget,
                        self.rate, self.model_env, self.immutable]
        print("summary", self.summary)
'''
DEFAULT = {"epochs": 2, "model": "small", "cpu": 1, "rate": 0.5, "project": "demo"}


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "train_flow.py").write_text(FLOW)
    (project / "train.json").write_text(json.dumps(DEFAULT))
    return project / "train_flow.py"


def _summary(run_id: str, cwd: Path) -> list:
    return read_back("import json; from flowassets.client import Flow; "
                     f"r = Flow('TrainConfigFlow')['{run_id}']; "
                     "print(json.dumps([r.data.summary, r['start'].task['train'].data, "
                     "r['end'].task['owners'].data]))", cwd)


def test_defaults_file_beside_the_flow_and_value_options(tmp_path):
    flow = _project(tmp_path)
    done = flowassets("run", str(flow), "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary, stored, owners = _summary((tmp_path / "rid.txt").read_text().strip(), tmp_path)
    # budget: 2 * 100 + len("TrainConfigFlow"); rate from config_expr; @environment resolved.
    assert summary == [2, "small", "ml", 215, 0.5, "SMALL", True]
    assert stored == DEFAULT and owners == {"team": "ml"}  # stored as plain dicts
    assert (tmp_path / "default-calls.txt").read_text() == "budget\n"  # once per run

    other = tmp_path / "big.json"
    other.write_text(json.dumps({**DEFAULT, "epochs": 9, "model": "big", "rate": 0.1}))
    done = flowassets("run", str(flow), "--config", "train", str(other),
                      "--config-value", "owners", "team=vision", "--budget", "7",
                      "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary, _, owners = _summary((tmp_path / "rid.txt").read_text().strip(), tmp_path)
    assert summary == [9, "big", "vision", 7, 0.1, "BIG", True] and owners == {"team": "vision"}
    assert (tmp_path / "default-calls.txt").read_text() == "budget\n"  # a given value: not called


def test_metaflow_environment_variables(tmp_path):
    flow = _project(tmp_path)
    env = {**os.environ,
           "METAFLOW_FLOW_CONFIG_VALUE": json.dumps({"train": {**DEFAULT, "model": "env"}}),
           "METAFLOW_FLOW_CONFIG": json.dumps({"owners": str(tmp_path / "owners.txt")})}
    (tmp_path / "owners.txt").write_text("team=ops\n")
    done = subprocess.run([sys.executable, "-m", "flowassets.cli.main", "run", str(flow),
                           "--run-id-file", "rid.txt"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    summary, _, _ = _summary((tmp_path / "rid.txt").read_text().strip(), tmp_path)
    assert summary[1:3] == ["env", "ops"]


def test_bad_values_are_refused_before_any_run(tmp_path):
    flow = _project(tmp_path)
    cases = [
        (("--config-value", "train", "{not json"), "Config 'train': the value does not parse"),
        (("--config", "train", "missing.json"), "configuration file 'missing.json' could not be "
                                                "read for Config 'train'"),
        (("--config-value", "nope", "{}"), "no Config named ['nope']"),
        (("--config-value", "train", json.dumps({**DEFAULT, "cpu": "lots"})),
         "flow TrainConfigFlow, step 'start'"),
    ]
    for args, expected in cases:
        done = flowassets("run", str(flow), *args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stdout)
        assert expected in done.stderr and "TrainConfigFlow" in done.stderr, (args, done.stderr)
        assert "Run " not in done.stdout
    runs = read_back("import json; from flowassets.client.instance import get_instance; "
                     "print(json.dumps(len(get_instance().get_runs())))", tmp_path)
    assert runs == 0


def test_resume_reuses_the_origin_runs_configs(tmp_path):
    flow = _project(tmp_path)
    (tmp_path / "fail-end").write_text("")
    given = json.dumps({**DEFAULT, "epochs": 4, "model": "given"})
    failed = flowassets("run", str(flow), "--config-value", "train", given, cwd=tmp_path)
    assert failed.returncode == 1 and "asked to fail" in failed.stderr
    (tmp_path / "fail-end").unlink()
    refused = flowassets("resume", str(flow), "--config-value", "train", given, cwd=tmp_path)
    assert refused.returncode == 1 and "resume reuses the configs" in refused.stderr
    done = flowassets("resume", str(flow), "--run-id-file", "rid.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary, stored, _ = _summary((tmp_path / "rid.txt").read_text().strip(), tmp_path)
    assert summary[:2] == [4, "given"] and stored["model"] == "given"  # not the default file's
    assert (tmp_path / "default-calls.txt").read_text() == "budget\n"  # start was not re-run


def test_flow_to_job_with_configs_runs_in_process(tmp_path):
    flow = _project(tmp_path)
    code = (
        "import json; import dagster as dg; from flowassets import flow_to_job; "
        "from flowassets.authoring.loader import load_flow_class; "
        f"cls = load_flow_class({str(flow)!r}); "
        f"job = flow_to_job(cls, configs={{'train': {{**{DEFAULT!r}, 'model': 'py'}}}}); "
        "result = job.execute_in_process(instance=dg.DagsterInstance.get()); "
        "from flowassets.client import Flow; r = Flow('TrainConfigFlow')[result.run_id]; "
        "print(json.dumps([job.name, job.metadata['config train'].value['model'], r.data.summary]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    name, shown, summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert name == "demo__TrainConfigFlow"  # @project(name=config_expr(...)) resolved
    assert shown == "py" and summary[1] == "py" and summary[5] == "PY"


def test_python_flow_py_with_metaflows_option_order(tmp_path):
    """``python flow.py --config-value NAME JSON run``: Metaflow's order (config options are the
    flow's, before the command) works on a flowassets flow file too."""
    flow = _project(tmp_path)
    flow.write_text(FLOW + "\n\nif __name__ == '__main__':\n    TrainConfigFlow()\n")
    given = json.dumps({**DEFAULT, "model": "script"})
    done = subprocess.run([sys.executable, str(flow), "--config-value", "train", given, "run",
                           "--run-id-file", "rid.txt"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    summary, _, _ = _summary((tmp_path / "rid.txt").read_text().strip(), tmp_path)
    assert summary[1] == "script"
