"""`flowassets run` progress: plain lines in a pipe, a live rich display in a terminal (a real
pseudo-terminal here), and a summary with the run id and the `dagster dev` command."""

from __future__ import annotations

import importlib
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

FLOW = Path(__file__).parent / "flows" / "wide_flow.py"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _check_summary(text: str, run_id: str) -> None:
    assert f"Run {run_id} succeeded in " in text
    assert ": 4/4 steps, 15 tasks." in text  # start + 12 + join + end
    assert f"FLOWASSETS_FLOW_FILES={FLOW} dagster dev -m flowassets.cli.ui" in text
    assert f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}" in text
    assert f"http://127.0.0.1:3000/runs/{run_id}" in text


def test_pipe_gets_plain_lines_with_step_counts_and_no_live_display(tmp_path):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flowassets.cli.main", "run", str(FLOW),
         "--run-id-file", "rid.txt"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = (tmp_path / "rid.txt").read_text().strip()
    out = done.stdout
    assert not ANSI.search(out)
    lines = [line for line in out.splitlines() if line.startswith("  ok    ")]
    assert [line.split()[1] for line in lines] == ["start", "work", "join", "end"]
    assert re.search(r"ok    work +12 tasks, [0-9.]+s \[2/4 steps, [0-9.]+s\]", out)
    assert re.search(r"ok    end +1 task, [0-9.]+s \[4/4 steps, [0-9.]+s\]", out)
    assert "[work/2-7] item 7" in out and "[end/4] total 132" in out
    _check_summary(out, run_id)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    # Dagster's logging imports rich's console anyway; the live display's parts stay unloaded.
    assert "flowassets.cli.progress" in imported
    assert "rich.progress" not in imported and "rich.live" not in imported


def _run_in_pty(args: list[str], cwd: Path) -> tuple[int, str]:
    """The CLI with a terminal as stdout/stderr (80 columns), and everything it drew."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("FLOWASSETS_PROGRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "flowassets.cli.main", *args], cwd=cwd,
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_terminal_gets_a_live_display_of_steps_tasks_and_elapsed(tmp_path):
    code, raw = _run_in_pty(["run", str(FLOW), "--run-id-file", "rid.txt", "--max-workers", "3"],
                            tmp_path)
    text = ANSI.sub("", raw).replace("\r", "\n")
    assert code == 0, text[-3000:]
    run_id = (tmp_path / "rid.txt").read_text().strip()
    assert ANSI.search(raw)  # it drew with escape codes (cursor moves, colours)
    assert re.search(r"WideFlow steps.*\b4/4\b.*steps.*\d:\d\d:\d\d", text)
    assert re.search(r"WideFlow steps \(running work\)", text)  # the step being run
    assert re.search(r"\n *work\b.*\b12/12\b.*tasks.*\d:\d\d:\d\d", text)
    assert re.search(r"\n *work\b.*\b\d{1,2}/12\b.*tasks", text)
    assert "[work/2-11] item 11" in text and "[end/4] total 132" in text  # task output above it
    assert re.search(r"ok    work +12 tasks", text)
    _check_summary(text, run_id)


def test_dagster_dev_module_of_the_summary_loads_the_flow_file(monkeypatch):
    monkeypatch.setenv("FLOWASSETS_FLOW_FILES", str(FLOW))
    sys.modules.pop("flowassets.cli.ui", None)
    module = importlib.import_module("flowassets.cli.ui")
    assert isinstance(module.defs, dg.Definitions)
    assert module.defs.get_job_def("WideFlow").graph.node_named("work")
    sys.modules.pop("flowassets.cli.ui", None)
