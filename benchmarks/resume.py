"""Resume of a foreach in which one task failed: flowassets against Metaflow, whole process.

    python benchmarks/resume.py                          # 200 tasks of 1.0 s, task 137 fails
    python benchmarks/resume.py --timed 5 --repeat 2     # more timed resumes, two first runs each
    python benchmarks/resume.py --tasks 6 --task-s 0 --fail-index 3   # harness check (tests)
    python benchmarks/resume.py --fa-home dagster        # only DAGSTER_HOME set (Dagster's layout)

The flow is ``start -> work (foreach of N) -> join -> end``, generated twice with the same step
bodies (``from flowassets import`` / ``from metaflow import``, as ``run.py`` does; with
``--fa-front-end metaflow`` flowassets runs the Metaflow file unchanged). Each ``work`` task
sleeps ``--task-s`` (its fixed work); task ``--fail-index`` raises unless the marker file
``fixed`` exists. Every step appends its process id to ``writes/<step>[-<index>]``, so what each
run really executed can be counted afterwards.

A cycle (``--repeat`` of them) per side, in its own temporary directory (Dagster home, artifact
store, Metaflow home and datastore, markers, logs):

1. the first run, which fails at the failing task (timed, not the headline). Metaflow's runtime
   kills the tasks still running when one fails, so the failing task first waits until every
   other task of the step wrote its "done" marker and its process exited: both runtimes then
   end the first run with N-1 finished tasks and one failed one;
2. the ``fixed`` marker is created;
3. ``--timed`` rounds of: the resume of the failed first run, timed as a whole process
   (``flowassets resume FLOW --origin-run-id ID`` and ``python FLOW resume --origin-run-id ID
   --max-workers W --max-num-splits 1000``); then the baseline, timed the same way: a run of
   ``start -> work (one task of --task-s) -> end`` on the same (existing) instance, i.e. what
   running one task costs from a cold process. Every resume has the same origin, so each one
   clones the same N-1 tasks and re-runs the failed one.

The sides alternate at each stage (flowassets, Metaflow, flowassets with its own home). Figures
are medians over every timed run. Each resume is checked from the write counts: it ran the
failing task, join and end once each and nothing else; after the first resume every ``work``
task was written once over both runs except the failing one, twice. A resume that breaks this
stops the script with an error.

flowassets is measured with DAGSTER_HOME set to a temporary home (Dagster's default layout: a
SQLite database per run, fsynced commits) and, with ``--fa-home both`` (the default), a second
time without DAGSTER_HOME: the project's own home ``./.flowassets/dagster_home`` (one event log
for all runs, relaxed commits; what ``run.py`` measures). Prints a table in ``run.py``'s format
and writes ``benchmarks/results/resume.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.flows import FlowSource  # noqa: E402
from benchmarks.measure import Measured, run_measured  # noqa: E402
from benchmarks.run import Side, _environment, _ratio, _side, print_case_table  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "resume.json"
MARKER_ENV = "RESUME_BENCH_DIR"
#: How long the failing task of a first run waits for the others before failing anyway.
WAIT_LIMIT_S = 1800

# Shared by both flows: where a step records that it ran, and the failing task's wait.
_HELPERS = '''
import os
import time


def _dir():
    return os.environ["{marker_env}"]


def _mark(name):
    os.makedirs(os.path.join(_dir(), "writes"), exist_ok=True)
    with open(os.path.join(_dir(), "writes", name), "a") as handle:
        handle.write(f"{{os.getpid()}}\\n")


def _done(index):
    os.makedirs(os.path.join(_dir(), "done"), exist_ok=True)
    with open(os.path.join(_dir(), "done", str(index)), "w") as handle:
        handle.write(str(os.getpid()))


def _exited(pid):
    try:
        with open(f"/proc/{{pid}}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait_for_the_others(index, width, limit):
    """Metaflow kills the running tasks when one fails: fail only after every other task of
    the step has finished (its body returned and its process, which persists it, exited)."""
    deadline = time.monotonic() + limit
    done = os.path.join(_dir(), "done")
    while time.monotonic() < deadline:
        names = os.listdir(done) if os.path.isdir(done) else []
        others = [n for n in names if n != str(index)]
        if len(others) >= width - 1:
            pids = [int(open(os.path.join(done, n)).read() or 0) for n in others]
            if all(_exited(pid) for pid in pids if pid):
                return
        time.sleep(0.05)
'''


def resume_flow(width: int, task_s: float, fail_index: int) -> FlowSource:
    body = _HELPERS.format(marker_env=MARKER_ENV) + f'''

class ResumeBench(FlowSpec):
    """A foreach of {width} tasks of {task_s} s; task {fail_index} fails until a marker exists."""

    @step
    def start(self):
        _mark("start")
        self.items = list(range({width}))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        index = self.input
        _mark(f"work-{{index:04d}}")
        time.sleep({task_s!r})
        if index == {fail_index} and not os.path.exists(os.path.join(_dir(), "fixed")):
            _wait_for_the_others(index, {width}, {WAIT_LIMIT_S})
            raise RuntimeError(f"task {{index}} fails until {{_dir()}}/fixed exists")
        self.out = index * 2
        _done(index)
        self.next(self.join)

    @step
    def join(self, inputs):
        _mark("join")
        self.total = sum(i.out for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        _mark("end")
        assert self.total == {width * (width - 1)}, self.total
'''
    return FlowSource("ResumeBench", body)


def one_task_flow(task_s: float) -> FlowSource:
    body = f'''
import time


class OneTaskBench(FlowSpec):
    """start -> one task of {task_s} s -> end: the baseline of running one task."""

    @step
    def start(self):
        self.next(self.work)

    @step
    def work(self):
        time.sleep({task_s!r})
        self.out = 1
        self.next(self.end)

    @step
    def end(self):
        assert self.out == 1
'''
    return FlowSource("OneTaskBench", body)


@dataclass(frozen=True)
class Sizes:
    tasks: int
    task_s: float
    fail_index: int
    max_workers: int


@dataclass
class Timed:
    """One timed whole-process run and what it is checked against."""

    measured: Measured
    run_id: str
    extra: dict[str, Any]


@dataclass
class SideRuns:
    """One side's runs in one cycle: the failing first run, the resumes and the baselines."""

    first: Timed
    resumes: list[Timed]
    one_tasks: list[Timed]


class Runner:
    """One runtime (or flowassets with one kind of home) in one cycle's directory."""

    def __init__(self, name: str, workdir: Path, sizes: Sizes, base_env: dict[str, str],
                 fa_cmd: list[str], fa_front_end: str):
        self.name, self.dir, self.sizes = name, workdir / name, sizes
        self.dir.mkdir(parents=True)
        (self.dir / "logs").mkdir()
        self.markers = self.dir / "markers"
        self.markers.mkdir()
        self.is_metaflow = name == "metaflow"
        front_end = "metaflow" if self.is_metaflow else fa_front_end
        self.flow = resume_flow(sizes.tasks, sizes.task_s, sizes.fail_index).write(self.dir, front_end)
        self.one = one_task_flow(sizes.task_s).write(self.dir, front_end)
        env = {**base_env, MARKER_ENV: str(self.markers)}
        if self.is_metaflow:
            env.update({"METAFLOW_HOME": str(self.dir / "mf_home"),
                        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(self.dir / "mf_datastore"),
                        "METAFLOW_DEFAULT_DATASTORE": "local",
                        "METAFLOW_DEFAULT_METADATA": "local", "USERNAME": "bench"})
        else:
            env["FLOWASSETS_DATASTORE_SYSROOT_LOCAL"] = str(self.dir / "store")
            if name == "flowassets":  # DAGSTER_HOME set: Dagster's own layout
                env["DAGSTER_HOME"] = str(self.dir / "dagster_home")
            # else ("flowassets_own_home"): ./.flowassets/dagster_home under the cwd
        self.env = env
        self.fa_cmd = fa_cmd
        self._count = 0
        self.first_run_id = ""
        self._counts: dict[str, int] = {}

    def _run(self, argv: list[str], label: str, expect_ok: bool, run_id_file: Path) -> Timed:
        self._count += 1
        measured = run_measured(argv, cwd=self.dir, env=self.env,
                                log_prefix=self.dir / "logs" / f"{self._count:02d}-{label}")
        if (measured.returncode == 0) != expect_ok:
            want = "succeed" if expect_ok else "fail"
            raise SystemExit(f"{self.name} {label} did not {want} (exit {measured.returncode}):\n"
                             f"{measured.tail(60)}\n(logs in {self.dir / 'logs'})")
        return Timed(measured, run_id_file.read_text().strip(), {})

    def _command(self, flow: Path, verb: str, run_id_file: Path, origin: str | None = None) -> list[str]:
        workers = ["--max-workers", str(self.sizes.max_workers), "--max-num-splits", "1000"]
        origin_args = ["--origin-run-id", origin] if origin else []
        if self.is_metaflow:
            return [sys.executable, str(flow), verb, *workers, *origin_args,
                    "--run-id-file", str(run_id_file)]
        if verb == "resume":  # the origin run's --max-workers/--max-num-splits carry over
            return [*self.fa_cmd, "resume", str(flow), *origin_args, "--run-id-file", str(run_id_file)]
        return [*self.fa_cmd, "run", str(flow), *workers, "--run-id-file", str(run_id_file)]

    def first_run(self) -> Timed:
        runid = self.dir / "first.runid"
        timed = self._run(self._command(self.flow, "run", runid), "first", False, runid)
        self.first_run_id = timed.run_id
        done = list((self.markers / "done").iterdir()) if (self.markers / "done").exists() else []
        if len(done) != self.sizes.tasks - 1:
            raise SystemExit(f"{self.name}: the first run finished {len(done)} tasks, not "
                             f"{self.sizes.tasks - 1}:\n{timed.measured.tail(60)}")
        self._counts = self._read_counts()
        (self.markers / "fixed").write_text("fixed\n")
        return timed

    def resume(self, n: int) -> Timed:
        """Resume the failed first run (every resume has the same origin, so each clones the
        same N-1 tasks and re-runs the failed one)."""
        runid = self.dir / f"resume-{n}.runid"
        timed = self._run(self._command(self.flow, "resume", runid, self.first_run_id),
                          f"resume-{n}", True, runid)
        before, self._counts = self._counts, self._read_counts()
        ran = {k: v - before.get(k, 0) for k, v in self._counts.items() if v != before.get(k, 0)}
        want = {f"work-{self.sizes.fail_index:04d}": 1, "join": 1, "end": 1}
        check = self._check(self._counts) if n == 0 else {"ok": ran == want}
        check["ran_in_this_resume"] = ran
        if not check["ok"] or ran != want:
            raise SystemExit(f"{self.name}: resume {n} did not re-run exactly task "
                             f"{self.sizes.fail_index} (then join, end): {check}\n"
                             f"(markers in {self.markers}, logs in {self.dir / 'logs'})")
        timed.extra = {"origin_run_id": self.first_run_id, "cloned": self._clone_note(timed.measured),
                       "rerun_check": check}
        return timed

    def one_task(self, n: int) -> Timed:
        runid = self.dir / f"one-{n}.runid"
        return self._run(self._command(self.one, "run", runid), f"one-task-{n}", True, runid)

    def _read_counts(self) -> dict[str, int]:
        writes = self.markers / "writes"
        return {p.name: len(p.read_text().splitlines()) for p in writes.iterdir()}

    def _clone_note(self, resume: Measured) -> str:
        text = Path(resume.stdout_path).read_text(errors="replace")
        text += Path(resume.stderr_path).read_text(errors="replace")
        if self.is_metaflow:
            cloned = len(re.findall(r"Cloning previously run task \S+/work/", text))
            return f"{cloned} 'Cloning previously run task .../work/...' lines"
        lines = [" ".join(line.split()) for line in text.splitlines()
                 if line.strip().startswith("clone ")]
        return "; ".join(lines) or "no clone line"

    def _check(self, counts: dict[str, int]) -> dict[str, Any]:
        """Write counts over the first run and the first resume: the failing task twice, every
        other task and step once."""
        work = {int(name[5:]): n for name, n in counts.items() if name.startswith("work-")}
        twice = sorted(i for i, n in work.items() if n == 2)
        other = {str(i): n for i, n in work.items() if n not in (1, 2)}
        expected = {i: 2 if i == self.sizes.fail_index else 1 for i in range(self.sizes.tasks)}
        steps = {s: counts.get(s, 0) for s in ("start", "join", "end")}
        ok = work == expected and steps == {"start": 1, "join": 1, "end": 1}
        return {"ok": ok, "work_tasks_written": len(work),
                "work_tasks_written_once": sum(1 for n in work.values() if n == 1),
                "work_tasks_written_twice": twice, "work_tasks_written_other": other,
                "steps_written": steps}


def cycle(workdir: Path, sizes: Sizes, sides: list[str], base_env: dict[str, str],
          fa_cmd: list[str], fa_front_end: str, timed: int) -> dict[str, SideRuns]:
    """First runs, then ``timed`` rounds of resumes and of baselines, alternating sides."""
    runners = [Runner(name, workdir, sizes, base_env, fa_cmd, fa_front_end) for name in sides]
    out: dict[str, SideRuns] = {}
    for runner in runners:
        _say(f"  {runner.name}: first run (fails at task {sizes.fail_index})")
        out[runner.name] = SideRuns(runner.first_run(), [], [])
    for n in range(timed):
        for runner in runners:
            _say(f"  {runner.name}: resume {n + 1} of {timed}")
            out[runner.name].resumes.append(runner.resume(n))
        for runner in runners:
            _say(f"  {runner.name}: one-task run {n + 1} of {timed}")
            out[runner.name].one_tasks.append(runner.one_task(n))
    return out


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _result(title: str, fa: Side, mf: Side) -> dict[str, Any]:
    return {"title": title, "flowassets": asdict(fa), "metaflow": asdict(mf),
            "ratio": _ratio(fa.wall_s, mf.wall_s), "targets": []}


def summarise(cycles: list[dict[str, SideRuns]], sizes: Sizes, fa_sides: list[str]) -> dict[str, Any]:
    def side(name: str, what: str) -> Side:
        runs = []
        for c in cycles:
            runs_of = getattr(c[name], what)
            for t in runs_of if isinstance(runs_of, list) else [runs_of]:
                runs.append((t.measured, {"run_id": t.run_id, **t.extra}))
        return _side(runs)

    width, task_s = sizes.tasks, sizes.task_s
    cases: dict[str, Any] = {}
    mf_resume, mf_one = side("metaflow", "resumes"), side("metaflow", "one_tasks")
    mf_first = side("metaflow", "first")
    for name in fa_sides:
        suffix = "" if name == "flowassets" else "_own_home"
        home = "DAGSTER_HOME" if name == "flowassets" else "own home"
        fa_resume, fa_one = side(name, "resumes"), side(name, "one_tasks")
        cases[f"resume{suffix}"] = _result(
            f"resume: foreach of {width} x {task_s:g} s, 1 failed (fa: {home})", fa_resume, mf_resume)
        cases[f"one_task{suffix}"] = _result(
            f"one task of {task_s:g} s, start -> work -> end (fa: {home})", fa_one, mf_one)
        cases[f"first_run{suffix}"] = _result(
            f"first run, fails at task {sizes.fail_index} (fa: {home})", side(name, "first"), mf_first)
        # Every resume was checked as it finished (the script stops otherwise); the first one's
        # counts over the first run and that resume:
        cases[f"resume{suffix}"]["rerun_check"] = {
            "flowassets": cycles[0][name].resumes[0].extra["rerun_check"],
            "metaflow": cycles[0]["metaflow"].resumes[0].extra["rerun_check"],
            "resumes_checked": sum(len(c[name].resumes) for c in cycles)}
        cases[f"resume{suffix}"]["resume_vs_one_task"] = {
            "flowassets": _ratio(fa_resume.wall_s, fa_one.wall_s),
            "flowassets_over_s": round(fa_resume.wall_s - fa_one.wall_s, 3),
            "metaflow": _ratio(mf_resume.wall_s, mf_one.wall_s),
            "metaflow_over_s": round(mf_resume.wall_s - mf_one.wall_s, 3)}
    return cases


def print_report(results: dict[str, Any], out=sys.stdout) -> None:
    """The table of ``run.py`` (same columns), then the resume-specific lines."""
    print_case_table(results["cases"].values(), out)
    for name, result in results["cases"].items():
        versus = result.get("resume_vs_one_task")
        if not versus:
            continue
        print(f"  {name}: resume / one-task run: flowassets {versus['flowassets']:.2f}x "
              f"({versus['flowassets_over_s']:+.2f} s), metaflow {versus['metaflow']:.2f}x "
              f"({versus['metaflow_over_s']:+.2f} s)", file=out)
        for side in ("flowassets", "metaflow"):
            check = result["rerun_check"][side]
            print(f"  {name}: {side}'s first resume re-ran task(s) "
                  f"{check['work_tasks_written_twice']}; {check['work_tasks_written_once']} of "
                  f"{check['work_tasks_written']} work tasks ran once over both runs "
                  f"({'ok' if check['ok'] else 'WRONG'}); {result[side]['extra']['cloned']}", file=out)
        print(f"  {name}: each of the {result['rerun_check']['resumes_checked']} resumes per side "
              "ran exactly the failed task, join and end", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200, help="width of the foreach")
    parser.add_argument("--task-s", type=float, default=1.0, help="each task's work (a sleep)")
    parser.add_argument("--fail-index", type=int, default=None,
                        help="the task that fails in the first run (default 137, or tasks // 2)")
    parser.add_argument("--max-workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1,
                        help="cycles (first runs included) per side")
    parser.add_argument("--timed", type=int, default=3,
                        help="resumes of the same failed run, and baselines, per cycle; the median "
                             "over all cycles is kept")
    parser.add_argument("--fa-home", choices=("dagster", "own", "both"), default="both",
                        help="flowassets with DAGSTER_HOME set, with its own home, or both")
    parser.add_argument("--fa-front-end", choices=("flowassets", "metaflow"), default="flowassets",
                        help="the import line of flowassets' flow file (metaflow: the same file "
                             "as Metaflow's run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    fail_index = args.fail_index if args.fail_index is not None else (
        137 if args.tasks > 137 else args.tasks // 2)
    if not 0 <= fail_index < args.tasks or args.tasks < 2:
        parser.error("need --tasks >= 2 and 0 <= --fail-index < --tasks")
    sizes = Sizes(args.tasks, args.task_s, fail_index, args.max_workers)
    fa_sides = {"dagster": ["flowassets"], "own": ["flowassets_own_home"],
                "both": ["flowassets", "flowassets_own_home"]}[args.fa_home]
    # Alternate: flowassets, Metaflow, flowassets with its own home.
    sides = [fa_sides[0], "metaflow", *fa_sides[1:]]

    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DAGSTER_", "FLOWASSETS_", "METAFLOW_"))}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    script = shutil.which("flowassets", path=os.path.dirname(sys.executable))
    fa_cmd = [script] if script else [sys.executable, "-m", "flowassets.cli.main"]

    workdir = Path(tempfile.mkdtemp(prefix="flowassets-resume-bench-"))
    started = time.monotonic()
    load = os.getloadavg()[0]
    cycles = []
    try:
        for n in range(max(1, args.repeat)):
            _say(f"cycle {n + 1} of {max(1, args.repeat)} ...")
            cycles.append(cycle(workdir / f"cycle-{n + 1}", sizes, sides, base, fa_cmd,
                                args.fa_front_end, max(1, args.timed)))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results: dict[str, Any] = {
        "environment": _environment(), "sizes": asdict(sizes), "repeat": max(1, args.repeat),
        "timed_per_cycle": max(1, args.timed),
        "fa_front_end": args.fa_front_end, "load_average_at_start": round(load, 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "cases": summarise(cycles, sizes, fa_sides)}
    results["total_s"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print_report(results)
    print(f"\n  load average {results['load_average_at_start']} -> {results['load_average_at_end']}, "
          f"total {results['total_s']} s")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
