"""Resume a loop (a recursive switch) at the pass that failed: the passes before it are cloned
from the origin run, the failed pass and the ones after it run; a loop stopped by
``--max-loop-iterations`` continues from its last pass when resumed with a higher bound."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import FLOWS, flowassets, read_back

FLOW = FLOWS / "loop_flow.py"


def _runs_per_pass(marks: Path) -> dict[int, int]:
    return {int(p.name.split("-")[1]): len(p.read_text()) for p in marks.glob("loop-*")}


def test_resume_restarts_at_the_failed_pass_and_clones_the_earlier_ones(tmp_path, marks):
    first = flowassets("run", str(FLOW), "--fail-at", "3", "--target", "5",
                       "--run-id-file", "first.txt", cwd=tmp_path)
    assert first.returncode == 1 and "pass 3 is not fixed yet" in first.stderr
    assert "task 2.2" in first.stderr  # the failed pass, by its id
    first_id = (tmp_path / "first.txt").read_text().strip()
    assert _runs_per_pass(marks) == {1: 1, 2: 1, 3: 1}

    (marks / "fixed").touch()
    second = flowassets("resume", str(FLOW), "--run-id-file", "second.txt", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"clone loop_step                2 of 5 from run {first_id} (2.0, 2.1)" in second.stdout
    assert _runs_per_pass(marks) == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    second_id = (tmp_path / "second.txt").read_text().strip()
    data = read_back(
        "import json; from flowassets.client import Flow; "
        f"r = Flow('LoopFlow')['{second_id}']; s = r['loop_step']; "
        "print(json.dumps([r.successful, [(t.id, t.data.count, t.origin_pathspec) for t in s], "
        "r['join'].task.data.count]))", tmp_path)
    assert data == [True, [["2.0", 1, f"LoopFlow/{first_id}/loop_step/2.0"],
                           ["2.1", 2, f"LoopFlow/{first_id}/loop_step/2.1"],
                           ["2.2", 3, None], ["2.3", 4, None], ["2.4", 5, None]], 5]


def test_a_loop_stopped_by_its_bound_continues_when_resumed_with_a_higher_one(tmp_path, marks):
    first = flowassets("run", str(FLOW), "--target", "6", "--max-loop-iterations", "4",
                       "--run-id-file", "first.txt", cwd=tmp_path)
    assert first.returncode == 1
    assert ("flow LoopFlow, step 'loop_step': the loop made 4 passes (the last is task 2.3)"
            in first.stderr)
    assert "--max-loop-iterations=4" in first.stderr
    assert _runs_per_pass(marks) == {1: 1, 2: 1, 3: 1, 4: 1}
    first_id = (tmp_path / "first.txt").read_text().strip()

    # The same bound again (the origin's, kept by resume) stops at the same place.
    again = flowassets("resume", str(FLOW), cwd=tmp_path)
    assert again.returncode == 1 and "made 4 passes" in again.stderr
    second = flowassets("resume", str(FLOW), "--origin-run-id", first_id,
                        "--max-loop-iterations", "10", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"4 of 6 from run {first_id} (2.0, 2.1, 2.2, 2.3)" in second.stdout
    assert _runs_per_pass(marks) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}


def test_show_marks_the_loops(tmp_path):
    shown = flowassets("show", str(FLOW), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = [ln for ln in shown.stdout.splitlines() if ln.startswith("Step ")]
    assert ("Step loop_step (split-switch) => switch on status: again -> loop_step, done -> fan "
            "(a loop: its passes run inside one op)") in lines
    assert sum("(a loop" in ln for ln in lines) == 2  # loop_step and spin
