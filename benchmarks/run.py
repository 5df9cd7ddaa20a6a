"""flowassets' local runtime against Metaflow's, case by case, whole process, back to back.

    python benchmarks/run.py                      # every case at full size (a few minutes)
    python benchmarks/run.py --quick              # tiny sizes: checks the harness, not speed
    python benchmarks/run.py --cases foreach,linear --repeat 3

Each case's flow is generated twice with the same step bodies (``from flowassets import`` /
``from metaflow import``) and run as ``flowassets run FILE`` on a persistent SQLite Dagster
instance and as ``python FILE run --max-workers 16`` with its own METAFLOW_HOME and datastore,
all under one temporary directory. Prints a table and writes ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import flows  # noqa: E402
from benchmarks.measure import Measured, run_measured  # noqa: E402

PROBE = str(ROOT / "benchmarks" / "probe.py")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "latest.json"


@dataclass(frozen=True)
class Sizes:
    foreach_width: int
    linear_steps: int
    artifact_mib: int
    translate_steps: int


FULL = Sizes(foreach_width=200, linear_steps=20, artifact_mib=1024, translate_steps=1000)
QUICK = Sizes(foreach_width=6, linear_steps=4, artifact_mib=1, translate_steps=30)


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    value: float | None

    @property
    def met(self) -> bool:
        return self.value is not None and self.value <= self.limit


@dataclass(frozen=True)
class Side:
    """One runtime's figures for one case (median wall time over the repeats)."""

    wall_s: float
    walls_s: tuple[float, ...]
    cpu_s: float  # of the median run
    peak_rss_mb: float
    peak_tree_pss_mb: float
    extra: dict[str, Any]


class Bench:
    """The shared temporary world: one Dagster home and one Metaflow home for every case."""

    def __init__(self, workdir: Path, sizes: Sizes, repeat: int):
        self.workdir, self.sizes, self.repeat = workdir, sizes, repeat
        self.flow_dir = workdir / "flows"
        self.fa_dir, self.mf_dir = workdir / "flowassets", workdir / "metaflow"
        for path in (self.flow_dir, self.fa_dir, self.mf_dir, workdir / "logs"):
            path.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("DAGSTER_", "FLOWASSETS_", "METAFLOW_"))}
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
        # flowassets' defaults: ./.flowassets/dagster_home and ./.flowassets as the store. The
        # warm worker lives in this run's own directory, and is off unless a case asks for it
        # (so the plain cases measure what they always did: a whole process per run).
        self.worker_dir = workdir / "w"
        self.fa_env = {**base, "FLOWASSETS_WORKER_DIR": str(self.worker_dir),
                       "FLOWASSETS_NO_DAEMON": "1"}
        self.mf_env = {**base, "METAFLOW_HOME": str(self.mf_dir / "home"),
                       "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(self.mf_dir / "datastore"),
                       "METAFLOW_DEFAULT_DATASTORE": "local", "METAFLOW_DEFAULT_METADATA": "local",
                       "USERNAME": "bench"}
        script = shutil.which("flowassets", path=os.path.dirname(sys.executable))
        self.fa_cmd = [script] if script else [sys.executable, "-m", "flowassets.cli.main"]
        self._count = 0

    def write(self, source: flows.FlowSource) -> tuple[Path, Path]:
        return source.write(self.flow_dir, "flowassets"), source.write(self.flow_dir, "metaflow")

    def _measure(self, argv: list[str], cwd: Path, env: dict[str, str], label: str) -> Measured:
        self._count += 1
        measured = run_measured(argv, cwd=cwd, env=env,
                                log_prefix=self.workdir / "logs" / f"{self._count:02d}-{label}")
        if measured.returncode != 0:
            raise SystemExit(f"{label} failed (exit {measured.returncode}):\n{measured.tail()}")
        return measured

    def run_flowassets(self, path: Path, label: str, worker: str = "off") -> tuple[Measured, str]:
        """``worker``: "off" (FLOWASSETS_NO_DAEMON=1), "warm" (started and answering before the
        timed run) or "cold" (stopped first: the first run after the worker exits, which runs
        plainly and starts one in the background)."""
        run_id_file = self.workdir / "logs" / f"{label}.runid"
        argv = [*self.fa_cmd, "run", str(path), "--max-workers", "16", "--max-num-splits", "1000",
                "--run-id-file", str(run_id_file)]
        env = self.fa_env
        if worker != "off":
            env = {k: v for k, v in self.fa_env.items() if k != "FLOWASSETS_NO_DAEMON"}
            self.worker("start" if worker == "warm" else "stop")
        before = self.worker_figures() if worker == "warm" else {}
        measured = self._measure(argv, self.fa_dir, env, f"fa-{label}")
        if worker == "warm":
            # The command ran in the worker's child, not a descendant of the timed client: add
            # its CPU time (the worker's wait4 of it) and its peak RSS. Its PSS is not sampled.
            after = self.worker_figures()
            measured = dataclasses.replace(
                measured, cpu_s=measured.cpu_s + after["commands_cpu_s"] - before["commands_cpu_s"],
                peak_rss_mb=max(measured.peak_rss_mb, after["last_command_rss_mb"]))
        return measured, run_id_file.read_text().strip()

    def worker(self, action: str) -> dict[str, Any]:
        """``flowassets worker start|stop|status`` (untimed); returns the live workers' figures."""
        env = {k: v for k, v in self.fa_env.items() if k != "FLOWASSETS_NO_DAEMON"}
        subprocess.run([*self.fa_cmd, "worker", action], cwd=self.fa_dir, env=env, check=True,
                       capture_output=True, timeout=600)
        return self.worker_figures()

    def worker_figures(self) -> dict[str, Any]:
        env = {k: v for k, v in self.fa_env.items() if k != "FLOWASSETS_NO_DAEMON"}
        code = ("import glob, json, sys; from flowassets.cli.worker.command import status_of; "
                "print(json.dumps([status_of(p) for p in glob.glob(sys.argv[1] + '/w-*.sock')]))")
        out = subprocess.run([sys.executable, "-c", code, str(self.worker_dir)], env=env,
                             cwd=self.fa_dir, check=True, capture_output=True, text=True)
        found = [w for w in json.loads(out.stdout) if w]
        return {"workers": len(found), "rss_mb": round(sum(w.get("vmrss_kb", 0) for w in found) / 1024, 1),
                "pss_mb": round(sum(w.get("pss_kb", 0) for w in found) / 1024, 1),
                "commands_cpu_s": sum(w.get("commands_cpu_s", 0.0) for w in found),
                "last_command_rss_mb": max([w.get("last_command_maxrss_kb", 0) / 1024 for w in found] or [0])}

    def run_metaflow(self, path: Path, label: str) -> tuple[Measured, str]:
        run_id_file = self.workdir / "logs" / f"{label}.mf-runid"
        argv = [sys.executable, str(path), "run", "--max-workers", "16", "--max-num-splits", "1000",
                "--run-id-file", str(run_id_file)]
        measured = self._measure(argv, self.mf_dir, self.mf_env, f"mf-{label}")
        return measured, run_id_file.read_text().strip()

    def probe(self, front_end: str, *args: str) -> dict[str, Any]:
        cwd, env = (self.fa_dir, self.fa_env) if front_end != "metaflow" else (self.mf_dir, self.mf_env)
        out = subprocess.run([sys.executable, PROBE, *args], cwd=cwd, env=env, check=True,
                             capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def both(self, source: flows.FlowSource, label: str,
             after: Callable[[str, str], dict[str, Any]] | None = None,
             worker: str = "off") -> tuple[Side, Side]:
        """Run the case on each runtime ``repeat`` times, alternating, and keep the median."""
        fa_path, mf_path = self.write(source)
        runs: dict[str, list[tuple[Measured, dict[str, Any]]]] = {"flowassets": [], "metaflow": []}
        fa_runner = lambda path, label: self.run_flowassets(path, label, worker)  # noqa: E731
        for _ in range(self.repeat):
            for front_end, path, runner in (("flowassets", fa_path, fa_runner),
                                            ("metaflow", mf_path, self.run_metaflow)):
                measured, run_id = runner(path, label)
                extra = after(front_end, run_id) if after else {}
                runs[front_end].append((measured, {"run_id": run_id, **extra}))
        return _side(runs["flowassets"]), _side(runs["metaflow"])


def _side(runs: list[tuple[Measured, dict[str, Any]]]) -> Side:
    ordered = sorted(runs, key=lambda r: r[0].wall_s)
    measured, extra = ordered[len(ordered) // 2]
    return Side(round(statistics.median(r[0].wall_s for r in runs), 3),
                tuple(round(r[0].wall_s, 3) for r in runs), round(measured.cpu_s, 3),
                round(measured.peak_rss_mb, 1),
                round(measured.peak_tree_pss_mb, 1), extra)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


def case_foreach(bench: Bench) -> dict[str, Any]:
    fa, mf = bench.both(flows.foreach_flow(bench.sizes.foreach_width), "foreach")
    ratio = _ratio(fa.wall_s, mf.wall_s)
    return _result(f"foreach of {bench.sizes.foreach_width} trivial tasks", fa, mf,
                   [Target("wall ratio", 0.10, ratio)])


def case_linear(bench: Bench) -> dict[str, Any]:
    fa, mf = bench.both(flows.linear_flow(bench.sizes.linear_steps), "linear")
    return _result(f"{bench.sizes.linear_steps}-step linear flow", fa, mf,
                   [Target("wall ratio", 0.20, _ratio(fa.wall_s, mf.wall_s))])


def case_large_artifact(bench: Bench) -> dict[str, Any]:
    def small_step(front_end: str, run_id: str) -> dict[str, Any]:
        probe = "flowassets-step" if front_end == "flowassets" else "metaflow-step"
        return {"small_step": bench.probe(front_end, probe, "LargeArtifactBench", run_id, "small")}

    fa, mf = bench.both(flows.large_artifact_flow(bench.sizes.artifact_mib), "large", small_step)
    small = fa.extra["small_step"]["task_s"]
    return _result(f"{bench.sizes.artifact_mib} MiB numpy artifact", fa, mf, [
        Target("wall ratio", 0.5, _ratio(fa.wall_s, mf.wall_s)),
        Target("peak RSS ratio (largest process)", 1.5, _ratio(fa.peak_rss_mb, mf.peak_rss_mb)),
        Target("peak PSS ratio (process tree)", 1.5, _ratio(fa.peak_tree_pss_mb, mf.peak_tree_pss_mb)),
        Target("small step task time (s)", 0.1, round(small, 4)),
    ])


def case_translate(bench: Bench) -> dict[str, Any]:
    source = flows.linear_flow(bench.sizes.translate_steps, "TranslateBench")
    fa_path, _ = bench.write(source)
    timings = [bench.probe("flowassets", "translate", str(fa_path), source.class_name)
               for _ in range(bench.repeat)]
    best = min(timings, key=lambda t: t["flow_to_job_s"])
    return {"title": f"flow_to_job of a {bench.sizes.translate_steps}-step linear flow",
            "flowassets": {k: round(v, 3) for k, v in best.items()}, "metaflow": None,
            "targets": [asdict(Target("flow_to_job (s)", 2.0, round(best["flow_to_job_s"], 3)))
                        | {"met": best["flow_to_job_s"] <= 2.0}]}


def case_cold_start(bench: Bench) -> dict[str, Any]:
    fa, mf = bench.both(flows.cold_start_flow(), "cold")
    return _result("cold start (start -> end)", fa, mf, [])


def _with_worker(bench: Bench, source: flows.FlowSource, title: str, label: str,
                 warm_limit: float | None) -> dict[str, dict[str, Any]]:
    """The case twice more, side by side with Metaflow each time: the worker warm (started
    before each timed run) and cold (stopped before it), with the warm worker's memory."""
    warm_fa, warm_mf = bench.both(source, f"{label}-warm", worker="warm")
    memory = bench.worker("status")
    warm = _result(f"{title}, worker warm", warm_fa, warm_mf, [] if warm_limit is None else
                   [Target("wall ratio, worker warm", warm_limit, _ratio(warm_fa.wall_s, warm_mf.wall_s))])
    warm["worker_memory"] = memory
    cold_fa, cold_mf = bench.both(source, f"{label}-cold", worker="cold")
    bench.worker("stop")
    return {"warm": warm, "cold": _result(f"{title}, worker cold (first run after it exits)",
                                          cold_fa, cold_mf, [])}


def case_cold_start_worker(bench: Bench) -> dict[str, Any]:
    return _with_worker(bench, flows.cold_start_flow(), "cold start (start -> end)", "cold", 1.0)


def case_linear_worker(bench: Bench) -> dict[str, Any]:
    return _with_worker(bench, flows.linear_flow(bench.sizes.linear_steps),
                        f"{bench.sizes.linear_steps}-step linear flow", "linear", 0.20)


def _result(title: str, fa: Side, mf: Side, targets: list[Target]) -> dict[str, Any]:
    return {"title": title, "flowassets": asdict(fa), "metaflow": asdict(mf),
            "ratio": _ratio(fa.wall_s, mf.wall_s),
            "targets": [asdict(t) | {"met": t.met} for t in targets]}


CASES: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "foreach": case_foreach, "linear": case_linear, "large_artifact": case_large_artifact,
    "translate": case_translate, "cold_start": case_cold_start,
    "cold_start_worker": case_cold_start_worker, "linear_worker": case_linear_worker,
}
#: Cases that report two rows (worker warm and cold) under one name.
PAIRED = ("cold_start_worker", "linear_worker")


def warm_up(bench: Bench) -> dict[str, float]:
    """One untimed run each: creates the SQLite instance and Metaflow's local dirs, so every
    case measures a persistent instance (the first-run cost is reported on its own)."""
    fa_path, mf_path = bench.write(flows.cold_start_flow())
    fa, _ = bench.run_flowassets(fa_path, "warmup")
    mf, _ = bench.run_metaflow(mf_path, "warmup")
    return {"flowassets_first_run_s": round(fa.wall_s, 3), "metaflow_first_run_s": round(mf.wall_s, 3)}


def rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One result per table row: a paired case gives ``NAME:warm`` and ``NAME:cold``."""
    flat: dict[str, dict[str, Any]] = {}
    for name, result in results["cases"].items():
        if name in PAIRED:
            flat.update({f"{name}:{k}": v for k, v in result.items()})
        else:
            flat[name] = result
    return flat


def print_table(results: dict[str, Any], out=sys.stdout) -> None:
    print_case_table(rows(results).values(), out)
    for name, result in rows(results).items():
        if "worker_memory" in result:
            memory = result["worker_memory"]
            print(f"  {name}: the warm worker's resident memory {memory['rss_mb']} MB "
                  f"(PSS {memory['pss_mb']} MB)", file=out)
        for target in result["targets"]:
            mark = "met" if target["met"] else "NOT MET"
            print(f"  {name}: {target['name']} = {target['value']} (target <= {target['limit']}): {mark}",
                  file=out)
        for front_end in ("flowassets", "metaflow"):
            small = ((result.get(front_end) or {}).get("extra") or {}).get("small_step")
            if small:
                print(f"  {name}: {front_end} 'small' step after the big artifact: "
                      + ", ".join(f"{k} {v:.3f}" for k, v in small.items()), file=out)
    print(f"  first run on a new instance: {results['warm_up']}", file=out)


def print_case_table(cases: Any, out=sys.stdout) -> None:
    """One row per case: flowassets beside Metaflow, wall and CPU time, memory (also resume.py's)."""
    rows = [("case", "flowassets s", "metaflow s", "ratio", "fa CPU s", "mf CPU s", "fa RSS MB",
             "mf RSS MB", "fa PSS MB", "mf PSS MB")]
    for result in cases:
        fa, mf = result["flowassets"], result["metaflow"]
        if mf is None:
            rows.append((result["title"], f"{fa['flow_to_job_s']:.3f}", "-", "-", "", "", "", "",
                         "", ""))
            continue
        rows.append((result["title"], f"{fa['wall_s']:.2f}", f"{mf['wall_s']:.2f}",
                     f"{result['ratio']:.3f}", f"{fa['cpu_s']:.2f}", f"{mf['cpu_s']:.2f}",
                     f"{fa['peak_rss_mb']:.0f}", f"{mf['peak_rss_mb']:.0f}",
                     f"{fa['peak_tree_pss_mb']:.0f}", f"{mf['peak_tree_pss_mb']:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))),
              file=out)
        if i == 0:
            print("-+-".join("-" * w for w in widths), file=out)
    print(file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (harness check only)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the median is kept")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    sizes = QUICK if args.quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="flowassets-bench-"))
    started = time.monotonic()
    try:
        bench = Bench(workdir, sizes, max(1, args.repeat))
        results: dict[str, Any] = {"environment": _environment(), "sizes": asdict(sizes),
                                   "quick": args.quick, "repeat": bench.repeat,
                                   "warm_up": warm_up(bench), "cases": {}}
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results["cases"][name] = CASES[name](bench)
        results["total_s"] = round(time.monotonic() - started, 1)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwrote {args.output}")
    return 0


def _environment() -> dict[str, Any]:
    versions = {}
    for dist in ("dagster", "metaflow", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "machine": platform.machine(), **versions}


if __name__ == "__main__":
    sys.exit(main())
