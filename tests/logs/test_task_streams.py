"""A forked task's stdout and stderr come back apart, whoever writes them: Python's print, a raw
write to the file descriptor, a subprocess the task starts, the traceback of its failure."""

from __future__ import annotations

import os
import subprocess
import sys

from flowassets.runtime.pool import run_forked
from flowassets.runtime.task_output import labelled


def _task(n: int) -> int:
    print(f"print {n}")
    print(f"warn {n}", file=sys.stderr)
    os.write(1, f"fd1 {n}\n".encode())
    os.write(2, f"fd2 {n}\n".encode())
    subprocess.run(["sh", "-c", f"echo child-out {n}; echo child-err {n} >&2"], check=True)
    if n == 2:
        raise ValueError(f"task {n} failed")
    return n


def test_each_writer_lands_in_its_own_stream_per_task():
    outcomes = {o.item: o for o in run_forked([0, 1, 2], _task, max_workers=3)}
    for n, outcome in outcomes.items():
        out, err = outcome.stdout.decode(), outcome.stderr.decode()
        assert out.splitlines() == [f"print {n}", f"fd1 {n}", f"child-out {n}"]
        assert err.splitlines()[:3] == [f"warn {n}", f"fd2 {n}", f"child-err {n}"]
        assert outcome.ok == (n != 2)
    assert outcomes[0].stderr.decode().splitlines() == ["warn 0", "fd2 0", "child-err 0"]
    # The failure's text goes back as the error; the combined log ends with stderr.
    assert "ValueError: task 2 failed" in outcomes[2].error
    assert outcomes[2].log.decode().startswith("print 2\n") and "child-err 2" in outcomes[2].log.decode()


def test_labels_every_line_and_ends_with_a_newline():
    assert labelled("[s/1-0]", b"a\n\nb") == b"[s/1-0] a\n[s/1-0] \n[s/1-0] b\n"
    assert labelled("[s/1-0]", b"") == b""
