"""Several `flowassets` processes opening a brand-new Dagster home at once (two runs started
together): without serialising the first creation, Dagster's SQLite schemas were created and
alembic-stamped twice (4 of 6 rounds here), and every later reader failed with "more than one
head present"."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

OPEN = ("from flowassets.client.instance import get_instance\n"
        "instance = get_instance(); instance.get_runs(limit=1); print('opened')")


def _open_at_once(cwd, env, count: int) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen([sys.executable, "-c", OPEN], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


@pytest.mark.parametrize("home", ["DAGSTER_HOME", "own home"])
def test_processes_creating_one_new_home_at_once_leave_it_readable(home, tmp_path):
    for round_ in range(3):
        cwd = tmp_path / f"project{round_}"
        cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
        if home == "DAGSTER_HOME":
            env["DAGSTER_HOME"] = str(cwd / "dagster_home")
            os.makedirs(env["DAGSTER_HOME"])
        done = _open_at_once(cwd, env, 3)
        assert all(d.returncode == 0 for d in done), [d.stderr[-400:] for d in done]
        later = _open_at_once(cwd, env, 1)[0]
        assert later.returncode == 0 and "opened" in later.stdout, later.stderr[-400:]
