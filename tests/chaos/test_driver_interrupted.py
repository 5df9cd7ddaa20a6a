"""The process driving a run is killed (SIGKILL) or interrupted (SIGINT) mid-run, then resumed.

Each test starts `flowassets run` in its own session, waits for a precise moment (read from the
store and the marker files, never a guess of time), interrupts it, and checks what a user
relies on: the run is marked FAILURE or CANCELED (never left STARTED), nothing of it keeps
running, no record in the store is corrupt, `flowassets resume` re-runs exactly the tasks that
had not finished and clones the others, and the final artifacts equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FLOW = Path(__file__).resolve().parent / "flows" / "slow_foreach.py"
EXPECTED_SQUARES = [i * i for i in range(6)]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    return {**os.environ, "MARKS": str(marks), "FLOWASSETS_PROGRESS": "plain", **extra}


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW), "--run-id-file", "first.txt"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)


def _wait_for(what: str, check, driver: subprocess.Popen, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        assert driver.poll() is None, f"the run ended before {what}: {driver.stdout.read()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _store_tasks(tmp_path: Path, run_id: str, step: str) -> set[str]:
    folder = tmp_path / "store" / "SlowForeachFlow" / "runs" / run_id / step / "tasks"
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()


def _marks(tmp_path: Path) -> dict[str, int]:
    return {p.name: len(p.read_text()) for p in (tmp_path / "marks").iterdir()}


def _session_processes(sid: int) -> list[str]:
    """Processes still in the killed driver's session (its tasks, Dagster's log tailers)."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6: session id
            left.append(f"{stat.parent.name}: {cmdline}")
    return left


def _assert_nothing_left(sid: int) -> None:
    deadline = time.monotonic() + 5  # Dagster's orphan watcher polls once a second
    while (left := _session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the interrupted run still running: {left}"


def _assert_store_intact(tmp_path: Path) -> None:
    for record in (tmp_path / "store").rglob("*.json"):
        json.loads(record.read_text())  # every manifest and task record is whole
    assert not [p for p in (tmp_path / "store").rglob(".tmp-*")], "partial files left in the store"


def _run_status(run_id: str, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    code = ("import json; from flowassets.client.instance import get_instance; "
            f"i = get_instance(recover=False); r = i.get_run_by_id('{run_id}'); "
            "msgs = [e.dagster_event.message for e in i.all_logs(r.run_id) if e.is_dagster_event and "
            "e.dagster_event_type.name in ('RUN_FAILURE', 'RUN_CANCELING', 'RUN_CANCELED')]; "
            "print(json.dumps({'status': r.status.value, 'messages': msgs}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _final_data(run_id: str, cwd: Path, env: dict[str, str]) -> list[object]:
    code = ("import json; from flowassets.client import Flow; "
            f"r = Flow('SlowForeachFlow')['{run_id}']; "
            "print(json.dumps([r.successful, r.data.squares, r.data.total, "
            "sorted(t.data.square for t in r['work']), r['end'].task.stdout]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _assert_cloned_exactly(output: str, origin: str, finished: set[str], before: dict[str, int],
                           after: dict[str, int]) -> None:
    """The resume cloned exactly the tasks that had finished, and ran every other task once."""
    cloned = sorted(finished, key=lambda task_id: int(task_id.split("-")[1]))  # work is step 2
    assert f"clone work" in output and f"from run {origin} ({', '.join(cloned)})" in output, output
    assert after["start"] == before["start"] == 1
    for index in range(6):
        name = f"work-{index}"
        ran_again = 0 if f"2-{index}" in finished else 1
        assert after[name] == before.get(name, 0) + ran_again, (index, before, after)


@pytest.fixture
def uninterrupted(tmp_path_factory) -> list[object]:
    """The same flow run start to end, in a home and store of its own."""
    home = tmp_path_factory.mktemp("uninterrupted")
    env = _env(home, DAGSTER_HOME=str(home / "dagster_home"),
               FLOWASSETS_DATASTORE_SYSROOT_LOCAL=str(home / "store"))
    done = _cli("run", str(FLOW), "--run-id-file", "rid.txt", env=env, cwd=home)
    assert done.returncode == 0, done.stderr
    return _final_data((home / "rid.txt").read_text().strip(), home, env)


def test_sigkill_during_foreach_then_resume_reruns_only_unfinished_tasks(tmp_path, uninterrupted):
    env = _env(tmp_path, SLOW_S="1.5")
    driver = _start(tmp_path, env)
    _wait_for("the run id", lambda: (tmp_path / "first.txt").exists(), driver)
    first = (tmp_path / "first.txt").read_text().strip()
    # Tasks 0, 1 and 2 finish at 0, 1.5 and 3 s; kill once two have, while 3, 4, 5 still run.
    _wait_for("two finished tasks", lambda: len(_store_tasks(tmp_path, first, "work")) >= 2, driver)
    os.kill(driver.pid, signal.SIGKILL)  # the driver alone, as `kill -9` or the OOM killer does
    driver.wait(30)
    finished = _store_tasks(tmp_path, first, "work")
    assert 2 <= len(finished) < 6
    _assert_nothing_left(driver.pid)
    assert _store_tasks(tmp_path, first, "work") == finished  # no task went on after the kill
    _assert_store_intact(tmp_path)

    # The next command that opens the instance finds the dead driver and says so.
    logs = _cli("logs", f"SlowForeachFlow/{first}/start", env=env, cwd=tmp_path)
    assert logs.returncode == 0, logs.stderr
    assert f"the process that drove run {first}" in logs.stderr and "is gone" in logs.stderr
    state = _run_status(first, tmp_path, env)
    assert state["status"] == "FAILURE"
    assert any(f"pid {driver.pid}" in m and "last heard from" in m for m in state["messages"])

    before = _marks(tmp_path)
    resumed = _cli("resume", str(FLOW), "--run-id-file", "second.txt", env={**env, "SLOW_S": "0"},
                   cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_cloned_exactly(resumed.stdout, first, finished, before, _marks(tmp_path))
    second = (tmp_path / "second.txt").read_text().strip()
    assert _final_data(second, tmp_path, env) == uninterrupted
    _assert_store_intact(tmp_path)


def test_sigkill_during_join_then_resume(tmp_path, uninterrupted):
    env = _env(tmp_path, JOIN_S="60")
    driver = _start(tmp_path, env)
    _wait_for("the join to start", lambda: (tmp_path / "marks" / "join").exists(), driver)
    first = (tmp_path / "first.txt").read_text().strip()
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    _assert_nothing_left(driver.pid)
    _assert_store_intact(tmp_path)

    resumed = _cli("resume", str(FLOW), "--run-id-file", "second.txt", env={**env, "JOIN_S": "0"},
                   cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "is gone" in resumed.stderr  # resume itself found the dead driver first
    marks = _marks(tmp_path)
    # Steps before the join are cloned whole: start and every foreach task ran once.
    assert {k: v for k, v in marks.items() if k != "join"} == {
        "start": 1, **{f"work-{i}": 1 for i in range(6)}, "end": 1}
    assert marks["join"] == 2
    second = (tmp_path / "second.txt").read_text().strip()
    assert _final_data(second, tmp_path, env) == uninterrupted
    assert _run_status(first, tmp_path, env)["status"] == "FAILURE"


def test_sigint_cancels_the_run_with_its_reason_then_resume(tmp_path, uninterrupted):
    env = _env(tmp_path, SLOW_S="1.5")
    driver = _start(tmp_path, env)
    _wait_for("the run id", lambda: (tmp_path / "first.txt").exists(), driver)
    first = (tmp_path / "first.txt").read_text().strip()
    _wait_for("two finished tasks", lambda: len(_store_tasks(tmp_path, first, "work")) >= 2, driver)
    os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group
    output, _ = driver.communicate(timeout=60)
    assert driver.returncode == 130, output
    assert "CANCELED" in output and "Traceback" not in output, output
    finished = _store_tasks(tmp_path, first, "work")
    _assert_nothing_left(driver.pid)
    _assert_store_intact(tmp_path)
    state = _run_status(first, tmp_path, env)
    assert state["status"] == "CANCELED"
    assert any("Interrupted" in m and f"pid {driver.pid}" in m for m in state["messages"]), state

    before = _marks(tmp_path)
    resumed = _cli("resume", str(FLOW), "--run-id-file", "second.txt", env={**env, "SLOW_S": "0"},
                   cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_cloned_exactly(resumed.stdout, first, finished, before, _marks(tmp_path))
    second = (tmp_path / "second.txt").read_text().strip()
    assert _final_data(second, tmp_path, env) == uninterrupted


def test_resume_refuses_a_live_run_and_other_runs_leave_it_alone(tmp_path, uninterrupted):
    """A run still going is never taken for dead: concurrent commands on one home leave it be."""
    env = _env(tmp_path)
    gate = tmp_path / "release"
    driver = _start(tmp_path, {**env, "GATE": str(gate)})
    _wait_for("the join to start", lambda: (tmp_path / "marks" / "join").exists(), driver)
    first = (tmp_path / "first.txt").read_text().strip()
    refused = _cli("resume", str(FLOW), "--origin-run-id", first, env=env, cwd=tmp_path)
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]  # (Dagster may warn on a line of its own first)
    assert "Traceback" not in refused.stderr and last.startswith("error: flow SlowForeachFlow: ")
    assert f"run {first} is still STARTED" in last and f"pid {driver.pid}" in last
    other = _cli("run", str(FLOW), env={**env, "SLOW_S": "0"}, cwd=tmp_path)  # same home, at once
    assert other.returncode == 0, other.stderr
    assert "is gone" not in other.stderr
    assert _run_status(first, tmp_path, env)["status"] == "STARTED"
    gate.touch()
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == 0, output
    assert _final_data(first, tmp_path, env) == uninterrupted


def _killed_run(tmp_path: Path, env: dict[str, str], name: str) -> tuple[str, int]:
    """A run whose driver was killed in its join: STARTED in the instance, no one driving it."""
    driver = subprocess.Popen(
        [sys.executable, "-m", "flowassets.cli.main", "run", str(FLOW), "--run-id-file", name],
        cwd=tmp_path, env={**env, "JOIN_S": "60"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_for("the join to start", lambda: (tmp_path / "marks" / "join").exists(), driver)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    (tmp_path / "marks" / "join").unlink()
    return (tmp_path / name).read_text().strip(), driver.pid


def test_recover_command_and_sensor_mark_dead_runs_for_deployments(tmp_path):
    env = _env(tmp_path)
    first, pid = _killed_run(tmp_path, env, "first.txt")
    recovered = _cli("recover", env=env, cwd=tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    assert f"{first} (SlowForeachFlow): marked FAILURE" in recovered.stdout and f"pid {pid}" in recovered.stdout
    again = _cli("recover", env=env, cwd=tmp_path)
    assert "No run with a dead driver" in again.stdout  # marked once

    second, pid = _killed_run(tmp_path, env, "second.txt")
    code = ("import json; import dagster as dg; from flowassets import dead_driver_sensor; "
            "from flowassets.client.instance import get_instance; i = get_instance(recover=False); "
            "sensor = dead_driver_sensor(); "
            "tick = sensor.evaluate_tick(dg.build_sensor_context(instance=i)); "
            f"print(json.dumps([tick.skip_message, i.get_run_by_id('{second}').status.value]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    message, status = json.loads(out.stdout.strip().splitlines()[-1])
    assert message == f"{second}: marked FAILURE" and status == "FAILURE"
    state = _run_status(second, tmp_path, env)
    assert any("sensor flowassets_dead_drivers" in m and f"pid {pid}" in m for m in state["messages"])
