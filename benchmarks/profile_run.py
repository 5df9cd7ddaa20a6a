"""Where the time of one ``flowassets run`` goes: the CLI under cProfile, grouped by cost.

    python benchmarks/profile_run.py linear        # the 20-step linear case
    python benchmarks/profile_run.py cold          # start -> end
    python benchmarks/profile_run.py foreach --width 200
    python benchmarks/profile_run.py linear --top 30   # and the 30 costliest functions
    python benchmarks/profile_run.py linear --warm     # as a command the warm worker serves

Runs the case twice in one fresh temporary directory (the first run creates the SQLite instance,
as ``run.py``'s warm-up does), profiles the second one in this process, and prints one line per
cost below. The lines are cumulative times of named functions, so they can overlap a little
(an import made lazily inside an event write counts in both); task bodies run in forked
children, which cProfile does not follow: their time shows as "waiting for task processes".
With ``--warm`` this process first loads what the warm worker loads (untimed), so the profile is
what a command served by the worker still pays.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import flows  # noqa: E402

#: (label, file suffix, function name, which figure): cumtime unless "tottime".
COSTS = (
    ("imports (all modules)", "<frozen importlib._bootstrap>", "_find_and_load", "cumtime"),
    ("open the Dagster instance", "flowassets/client/instance.py", "get_instance", "cumtime"),
    ("create the run record", "run_methods.py", "create_run_for_job", "cumtime"),
    # sharded (Dagster's default) storage overrides store_event and calls the SQL base class's;
    # the consolidated one (the project's own home) uses the base class's: take the outer one.
    ("Dagster event writes (SQLite)", "event_log.py", "store_event", "outermost"),
    ("  of which commits (fsync)", "~", "<method 'commit' of 'sqlite3.Connection' objects>", "tottime"),
    ("  new run shard + alembic check", "sqlite_event_log.py", "_initdb", "cumtime"),
    ("step manifests (IO manager)", "flowassets/storage/io_manager.py", "handle_output", "cumtime"),
    ("upstream manifests (IO manager)", "flowassets/storage/io_manager.py", "load_input", "cumtime"),
    ("fork task processes", "~", "<built-in method posix.fork>", "tottime"),
    ("waiting for task processes", "~", "<method 'poll' of 'select.epoll' objects>", "tottime"),
    ("task logs to the store", "flowassets/storage/artifacts.py", "save_log", "cumtime"),
)


def _case(name: str, width: int) -> flows.FlowSource:
    if name == "linear":
        return flows.linear_flow(20)
    if name == "foreach":
        return flows.foreach_flow(width)
    return flows.cold_start_flow()


def _rows(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    rows = []
    for label, file_part, func, which in COSTS:
        calls, seconds = 0, 0.0
        for (filename, _, funcname), (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if funcname == func and file_part in filename:
                if which == "outermost":
                    if ct > seconds:
                        calls, seconds = nc, ct
                    continue
                calls += nc
                seconds += tt if which == "tottime" else ct
        rows.append((label, calls, seconds))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("linear", "cold", "foreach"))
    parser.add_argument("--width", type=int, default=200, help="foreach width")
    parser.add_argument("--top", type=int, default=0, help="also print the N costliest functions")
    parser.add_argument("--warm", action="store_true",
                        help="first load what the warm worker loads (untimed)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flowassets-profile-"))
    os.chdir(workdir)
    for name in [n for n in os.environ if n.startswith(("DAGSTER_", "FLOWASSETS_"))]:
        del os.environ[name]
    os.environ["FLOWASSETS_NO_DAEMON"] = "1"  # every run here is a plain process (or this one)
    path = _case(args.case, args.width).write(workdir, "flowassets")
    argv_run = ["run", str(path), "--quiet", "--max-num-splits", "1000"]

    import subprocess

    subprocess.run([sys.executable, "-m", "flowassets.cli.main", *argv_run], check=True,
                   stdout=subprocess.DEVNULL)  # warm-up: creates the instance
    from flowassets.cli import main as cli

    if args.warm:
        import gc

        from flowassets.cli.worker.preload import preload

        preload(None)
        gc.collect()
        gc.freeze()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    code = cli.main(argv_run, exiting=False)
    profiler.disable()
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"the run failed (exit {code})")
    stats = pstats.Stats(profiler)
    where = "the worker's child (loaded first)" if args.warm else "this process"
    print(f"\n{args.case}: whole run in {where} {wall:.2f} s (under cProfile, which adds "
          "~30-60% to Python-heavy parts)")
    for label, calls, seconds in _rows(stats):
        print(f"  {label:<34} {seconds:7.3f} s  ({calls} calls)")
    if args.top:
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
