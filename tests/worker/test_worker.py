"""The warm worker: a command run through it gives what the plain command gives (output, exit
status, --run-id-file, environment, directory, the flow file as it is now), Ctrl-C cancels the
run, a worker of a changed installation is replaced, other users are refused, and a broken
socket falls back to a plain run with one line on stderr."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.worker.conftest import cli, start_worker, statuses, wait_gone

FLOW = '''\
import os
import sys

from flowassets import FlowSpec, Parameter, step

print("imported", os.getcwd(), os.environ.get("WORKER_TEST_MARK"), sys.stdout.isatty(),
      VERSION_MARK, flush=True)
if os.environ.get("WORKER_TEST_DIE"):
    os.kill(os.getpid(), getattr(__import__("signal"), os.environ["WORKER_TEST_DIE"]))


class MarkFlow(FlowSpec):
    word = Parameter("word", default="plain")

    @step
    def start(self):
        self.mark = os.environ.get("WORKER_TEST_MARK")
        print("start sees", self.mark, os.getcwd(), self.word)
        if os.environ.get("WORKER_TEST_FAIL"):
            raise ValueError("asked to fail")
        if os.environ.get("WORKER_TEST_SLEEP"):
            with open(os.environ["WORKER_TEST_SLEEP"], "w") as handle:
                handle.write(str(os.getpid()))
            import time
            time.sleep(120)
        self.next(self.end)

    @step
    def end(self):
        print("end has", self.mark)
'''


def write_flow(folder: Path, version: str = "v1") -> Path:
    path = folder / "mark_flow.py"
    path.write_text(FLOW.replace("VERSION_MARK", repr(version)))
    return path


def normalized(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "RUN", text)
    return re.sub(r"\d+\.\d+s", "N.Ns", text)


def served(directory: str) -> int:
    return sum(s["served"] for s in statuses(directory))


def test_same_output_status_env_and_cwd_with_and_without_the_worker(tmp_path, worker_on):
    start_worker(tmp_path)
    flow = write_flow(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    # Dagster greets a new home once (telemetry notice): not what is compared here.
    cli("run", str(flow), cwd=work, env={**os.environ, "FLOWASSETS_NO_DAEMON": "1"})
    results = {}
    for mode in ("plain", "worker"):
        env = {**os.environ, "WORKER_TEST_MARK": f"mark-{os.getpid()}"}
        if mode == "plain":
            env["FLOWASSETS_NO_DAEMON"] = "1"
        before = served(worker_on)
        ok = cli("run", str(flow), "--word", "hello", "--run-id-file", "rid.txt", cwd=work, env=env)
        failed = cli("run", str(flow), cwd=work, env={**env, "WORKER_TEST_FAIL": "1"})
        refused = cli("run", str(flow), "--colour", "red", cwd=work, env=env)
        logs = cli("logs", f"MarkFlow/{(work / 'rid.txt').read_text().strip()}/start", cwd=work, env=env)
        assert served(worker_on) - before == (0 if mode == "plain" else 4)
        results[mode] = [(r.returncode, normalized(r.stdout), normalized(r.stderr))
                         for r in (ok, failed, refused, logs)]
    assert results["worker"] == results["plain"]
    (ok_code, ok_out, _), (fail_code, _, fail_err), (refused_code, _, _), (_, logs_out, _) = \
        results["worker"]
    assert (ok_code, fail_code, refused_code) == (0, 1, 1)
    mark = f"mark-{os.getpid()}"
    assert f"imported {work} {mark} False v1" in ok_out  # the flow file ran in the command's cwd
    assert f"start sees {mark} {work} hello" in ok_out and f"end has {mark}" in ok_out
    assert "asked to fail" in fail_err
    assert f"start sees {mark} {work} hello" in logs_out


def test_a_flow_edited_between_two_runs_is_seen(tmp_path, worker_on):
    start_worker(tmp_path)
    flow = write_flow(tmp_path, "first")
    first = cli("run", str(flow), cwd=tmp_path)
    flow.write_text(flow.read_text().replace("self.word)", "self.word, 'edited')"))
    write_flow(tmp_path, "second")
    second = cli("run", str(flow), cwd=tmp_path)
    assert first.returncode == second.returncode == 0, second.stderr
    assert "False first" in first.stdout and "False second" in second.stdout
    assert "hello" not in first.stdout and "edited" in second.stdout
    assert served(worker_on) == 2


def test_a_command_that_dies_of_a_signal_kills_the_client_with_it(tmp_path, worker_on):
    start_worker(tmp_path)
    flow = write_flow(tmp_path)
    codes = {}
    for mode in ("plain", "worker"):
        env = {**os.environ, "WORKER_TEST_DIE": "SIGTERM"}
        if mode == "plain":
            env["FLOWASSETS_NO_DAEMON"] = "1"
        codes[mode] = cli("run", str(flow), cwd=tmp_path, env=env).returncode
    assert codes == {"plain": -signal.SIGTERM, "worker": -signal.SIGTERM}
    assert served(worker_on) == 1


def test_ctrl_c_in_the_client_cancels_the_run_as_without_the_worker(tmp_path, worker_on):
    start_worker(tmp_path)
    flow = write_flow(tmp_path)
    outcomes = {}
    for mode in ("plain", "worker"):
        marker = tmp_path / f"{mode}.started"
        env = {**os.environ, "WORKER_TEST_SLEEP": str(marker)}
        if mode == "plain":
            env["FLOWASSETS_NO_DAEMON"] = "1"
        proc = subprocess.Popen([sys.executable, "-m", "flowassets.cli.main", "run", str(flow)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        task_pid = int(marker.read_text())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert wait_gone(task_pid, 60), f"{mode}: the sleeping task {task_pid} outlived the run"
        outcomes[mode] = (proc.returncode, "CANCELED" in out, "resume" in err)
    assert outcomes["worker"] == outcomes["plain"] == (130, True, True)
    assert served(worker_on) == 1


def test_a_worker_of_a_changed_installation_is_replaced(tmp_path, worker_on):
    extra = tmp_path / "site"  # a sys.path folder: installing a package there changes it
    extra.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(extra), os.environ.get("PYTHONPATH")]))}  # CI sets no PYTHONPATH
    old = start_worker(tmp_path, env)
    (extra / "newly_installed.py").write_text("")
    flow = write_flow(tmp_path)
    done = cli("run", str(flow), cwd=tmp_path, env=env)  # starts the new worker, runs plainly
    assert done.returncode == 0, done.stderr
    assert wait_gone(old["pid"], 120), "the stale worker did not exit"
    new = start_worker(tmp_path, env)
    assert new["key"] != old["key"] and new["served"] == 0
    assert cli("run", str(flow), cwd=tmp_path, env=env).returncode == 0
    assert [s["served"] for s in statuses(worker_on)] == [1]


def test_no_worker_when_disabled_and_the_client_never_imports_dagster(tmp_path, worker_on):
    flow = write_flow(tmp_path)
    done = cli("run", str(flow), cwd=tmp_path, env={**os.environ, "FLOWASSETS_NO_DAEMON": "1"})
    assert done.returncode == 0 and not os.listdir(worker_on)
    start_worker(tmp_path)
    code = ("import sys; from flowassets.cli.worker.client import run_in_worker; "
            f"code = run_in_worker(['run', {str(flow)!r}]); "
            "print('RESULT', code, 'dagster' in sys.modules, file=sys.stderr)")
    probe = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert "RESULT 0 False" in probe.stderr, probe.stderr
    assert "imported" in probe.stdout  # the child wrote to the client's own stdout


def test_a_broken_socket_falls_back_to_a_plain_run_with_one_line(tmp_path, worker_on):
    flow = write_flow(tmp_path)
    where = subprocess.run([sys.executable, "-c", "from flowassets.cli.worker.place import "
                            "locate; print(locate()[0].socket)"], cwd=tmp_path, text=True,
                           capture_output=True, check=True).stdout.strip()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(where)
    listener.listen(4)

    def hang_up() -> None:  # answers every command by closing the connection
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(1 << 20)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        done = cli("run", str(flow), cwd=tmp_path)
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    assert "end has" in done.stdout
    notes = [line for line in done.stderr.splitlines() if line.startswith("flowassets:")]
    assert len(notes) == 1 and "warm worker not used" in notes[0] and "running in this process" in notes[0]


def _as_nobody(action) -> str:
    """Run ``action`` in a forked child that has become uid/gid 65534; its result as text."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            result = action()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result = f"{type(exc).__name__}: {exc}"
        os.write(write, str(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        text = handle.read()
    os.waitpid(pid, 0)
    return text


def test_another_user_cannot_use_the_worker(tmp_path, worker_on):
    assert os.getuid() == 0, "needs root to become another user"
    info = start_worker(tmp_path)

    def connect_and_ask() -> str:
        from flowassets.cli.worker.wire import receive, send

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(info["socket"])
        send(sock, {"op": "status"})
        return repr(receive(sock)[0])

    # The directory is 0700: another user cannot reach the socket at all.
    assert _as_nobody(connect_and_ask).startswith("PermissionError")
    # With the directory and socket opened up by hand, the worker itself checks the peer.
    os.chmod(worker_on, 0o711)
    os.chmod(info["socket"], 0o666)
    try:
        answer = _as_nobody(connect_and_ask)  # closed without a word (reset if unread data)
        assert answer.split(":")[0] in ("WireError", "ConnectionResetError", "BrokenPipeError"), answer
    finally:
        os.chmod(worker_on, 0o700)
        os.chmod(info["socket"], 0o600)
    # And a client refuses a worker directory that is not its own.
    from flowassets.cli.worker import place

    refused = _as_nobody(lambda: place.private_dir(worker_on))
    assert refused == "WorkerUnavailable: " + f"{worker_on} belongs to uid 0, not to this user"
    assert statuses(worker_on)[0]["served"] == 0


def test_a_module_in_the_current_directory_that_shadows_a_loaded_one_gets_a_plain_run(
        tmp_path, worker_on):
    """``python -m`` puts the current directory first on sys.path: a gzip.py there is what a
    plain command imports, not the one the worker loaded, so the worker declines."""
    import gzip

    start_worker(tmp_path)
    flow = write_flow(tmp_path)
    (tmp_path / "gzip.py").write_text('print("the local gzip.py", flush=True)\n'
                                      + Path(gzip.__file__).read_text())
    done = cli("run", str(flow), cwd=tmp_path,
               env={**os.environ, "FLOWASSETS_WORKER_DEBUG": "1"})
    assert done.returncode == 0, done.stderr
    assert "the local gzip.py" in done.stdout
    assert "warm worker not used: " in done.stderr and "gzip" in done.stderr
    assert served(worker_on) == 0


def test_an_idle_worker_exits_and_removes_its_socket(tmp_path, worker_on):
    info = start_worker(tmp_path, {**os.environ, "FLOWASSETS_WORKER_IDLE_S": "1"})
    assert wait_gone(info["pid"], 60), "the idle worker did not exit"
    assert not Path(info["socket"]).exists() and statuses(worker_on) == []
