"""Run one flow source under Metaflow 2.19's local runtime and under ``flowassets run``, then
read every task's artifacts back from both and compare them.

The flow source is written against ``from metaflow import ...``; the flowassets copy only swaps
that import. Both systems run in subprocesses (in parallel), each with its own home and store
under the test's tmp dir, and both are read back by a fresh process with each system's own
client, as a user would. Values cross back as a canonical, builtins-only form (type name +
value, recursively), so a list that became a tuple, or an int that became a float, differs.

Tasks are matched by foreach index path (Metaflow: ``_foreach_stack``; ours: the manifest's
stack), and each step is compared as a multiset of (index path, artifacts) because task ids
and task order differ between the systems.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300

#: Artifacts Metaflow stores in every task that are not the user's (besides ``_``-names).
METAFLOW_INTERNAL = frozenset({"name"})

# The reader scripts run in a fresh interpreter and print one pickled dump (builtins only).
_CANON = r'''
import pickle, sys

def canon(value, depth=0):
    if depth > 20:
        return ("<deep>", repr(value))
    t = type(value)
    if value is None or t in (bool, int, float, str, bytes, complex):
        return (t.__name__, value)
    if t in (list, tuple):
        return (t.__name__, tuple(canon(v, depth + 1) for v in value))
    if t in (set, frozenset):
        return (t.__name__, tuple(sorted((canon(v, depth + 1) for v in value), key=repr)))
    if t is dict:
        return ("dict", tuple(sorted(((canon(k, depth + 1), canon(v, depth + 1))
                                      for k, v in value.items()), key=repr)))
    return (t.__qualname__, repr(value))

def emit(dump):
    sys.stdout.write("\n@@DUMP@@" + pickle.dumps(dump, protocol=4).hex() + "\n")
'''

_METAFLOW_READER = _CANON + r'''
from metaflow import Flow, namespace
namespace(None)
run = Flow(sys.argv[1]).latest_run
steps = {}
for step in run:
    tasks = []
    for task in step:
        stack = task["_foreach_stack"].data if "_foreach_stack" in task else None
        path = tuple(f.index for f in (stack or ()))
        data = {a.id: canon(a.data) for a in task
                if not a.id.startswith("_") and a.id != "name"}
        tasks.append({"path": path, "data": data, "ok": task.successful,
                      "exception": repr(task.exception) if task.exception else None})
    steps[step.id] = tasks
emit({"successful": run.successful, "steps": steps})
'''

_FLOWASSETS_READER = _CANON + r'''
from flowassets.client import Flow
run = Flow(sys.argv[1]).latest_run
steps = {}
for step in run:
    tasks = []
    for task in step:
        data = {name: canon(task[name].data) for name in task.artifacts if not name.startswith("_")}
        tasks.append({"path": task.record.indices, "data": data, "ok": True,
                      "exception": task.exception})
    steps[step.id] = tasks
emit({"successful": run.successful, "steps": steps})
'''


@dataclass(frozen=True)
class SystemRun:
    """One system's run of the flow: how the command ended, and what its client reads back."""

    system: str
    returncode: int
    output: str  # stdout + stderr of the run command
    successful: bool | None = None
    steps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    read_error: str = ""

    def tasks(self, step: str) -> list[dict[str, Any]]:
        return self.steps.get(step, [])

    def artifacts(self, step: str) -> list[dict[str, Any]]:
        """Each task's user artifacts, as plain values (for readable assertions)."""
        return [{k: plain(v) for k, v in t["data"].items()}
                for t in sorted(self.tasks(step), key=lambda t: t["path"])]


@dataclass(frozen=True)
class Comparison:
    metaflow: SystemRun
    flowassets: SystemRun

    def differences(self) -> list[str]:
        return compare(self.metaflow, self.flowassets)

    def assert_same(self) -> None:
        mf, fa = self.metaflow, self.flowassets
        assert mf.returncode == 0, f"Metaflow failed on this flow:\n{mf.output[-3000:]}"
        assert fa.returncode == 0, f"flowassets failed where Metaflow succeeded:\n{fa.output[-3000:]}"
        diffs = self.differences()
        assert not diffs, "flowassets differs from Metaflow:\n" + "\n".join(diffs)


def plain(canonical: Any) -> Any:
    """Back from the canonical (type, value) form to ordinary values."""
    kind, value = canonical
    if kind in ("list", "tuple"):
        items = [plain(v) for v in value]
        return items if kind == "list" else tuple(items)
    if kind in ("set", "frozenset"):
        return {plain(v) for v in value}
    if kind == "dict":
        return {plain(k): plain(v) for k, v in value}
    return value


def to_flowassets(source: str) -> str:
    return source.replace("from metaflow import", "from flowassets import")


def flow_name(source: str) -> str:
    import re

    match = re.search(r"^class (\w+)\((?:\w+\.)?FlowSpec\)", source, re.M)
    assert match, "the flow source defines no FlowSpec subclass"
    return match.group(1)


def _with_footer(source: str, name: str) -> str:
    if "__main__" in source:
        return source
    return f"{source.rstrip()}\n\n\nif __name__ == \"__main__\":\n    {name}()\n"


def _metaflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "FLOWASSETS_"))
           or k == "FLOWASSETS_NO_DAEMON"}  # no warm worker left behind by a test
    env.update({
        "METAFLOW_HOME": str(home / "mf_home"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(home / "mf_store"),
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DEFAULT_METADATA": "local",
        "USERNAME": "compat",
        "PYTHONHASHSEED": "0",
        # Metaflow loads flowassets' extension from this checkout only, not from another
        # installed copy too (it refuses two packages defining the same extension module).
        "METAFLOW_EXTENSIONS_SEARCH_DIRS": str(ROOT),
    })
    return env


def _flowassets_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "FLOWASSETS_"))
           or k == "FLOWASSETS_NO_DAEMON"}  # no warm worker left behind by a test
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    env.update({
        "DAGSTER_HOME": str(home / "dagster_home"),
        "FLOWASSETS_DATASTORE_SYSROOT_LOCAL": str(home / "store"),
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "METAFLOW_EXTENSIONS_SEARCH_DIRS": str(ROOT),  # as _metaflow_env
    })
    return env


def run_both(source: str, tmp_path: Path, args: tuple[str, ...] = (),
             max_workers: int = 4, fa_args: tuple[str, ...] = ()) -> Comparison:
    """Run ``source`` under both systems (in parallel) and read both back."""
    name = flow_name(source)
    mf_dir, fa_dir = tmp_path / "metaflow", tmp_path / "flowassets"
    for directory in (mf_dir, fa_dir):
        directory.mkdir(parents=True, exist_ok=True)
    (mf_dir / "flow.py").write_text(_with_footer(source, name))
    (fa_dir / "flow.py").write_text(_with_footer(to_flowassets(source), name))
    mf_env, fa_env = _metaflow_env(mf_dir), _flowassets_env(fa_dir)
    mf_cmd = [sys.executable, "flow.py", "--no-pylint", "run", "--max-workers", str(max_workers), *args]
    fa_cmd = [sys.executable, "-m", "flowassets.cli.main", "run", "flow.py", "--quiet",
              "--max-workers", str(max_workers), *fa_args, *args]
    mf_proc = _start(mf_cmd, mf_dir, mf_env)
    fa_proc = _start(fa_cmd, fa_dir, fa_env)
    mf_code, mf_out = _wait(mf_proc)
    fa_code, fa_out = _wait(fa_proc)
    readers = [_start([sys.executable, "-c", _METAFLOW_READER, name], mf_dir, mf_env),
               _start([sys.executable, "-c", _FLOWASSETS_READER, name], fa_dir, fa_env)]
    mf_read, fa_read = (_wait(p) for p in readers)
    return Comparison(_system_run("metaflow", mf_code, mf_out, mf_read),
                      _system_run("flowassets", fa_code, fa_out, fa_read))


def run_flowassets(source: str, tmp_path: Path, args: tuple[str, ...] = ()) -> SystemRun:
    """Only flowassets (for behaviour Metaflow does not have, or cases already compared)."""
    name = flow_name(source)
    fa_dir = tmp_path / "flowassets"
    fa_dir.mkdir(parents=True, exist_ok=True)
    (fa_dir / "flow.py").write_text(_with_footer(to_flowassets(source), name))
    env = _flowassets_env(fa_dir)
    code, out = _wait(_start([sys.executable, "-m", "flowassets.cli.main", "run", "flow.py",
                              "--quiet", *args], fa_dir, env))
    read = _wait(_start([sys.executable, "-c", _FLOWASSETS_READER, name], fa_dir, env))
    return _system_run("flowassets", code, out, read)


def _start(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return -9, (out or "") + f"\n[harness: killed after {TIMEOUT_S} s]"
    return proc.returncode, out or ""


def _system_run(system: str, code: int, output: str, read: tuple[int, str]) -> SystemRun:
    read_code, read_out = read
    marker = read_out.rfind("@@DUMP@@")
    if read_code != 0 or marker < 0:
        return SystemRun(system, code, output, read_error=read_out[-3000:])
    dump = pickle.loads(bytes.fromhex(read_out[marker + 8:].strip()))
    return SystemRun(system, code, output, dump["successful"], dump["steps"])


def _key(task: dict[str, Any]) -> str:
    return repr((task["path"], sorted(task["data"].items())))


def compare(mf: SystemRun, fa: SystemRun) -> list[str]:
    """Every difference between the two runs' artifacts, one line each (empty = identical)."""
    if mf.read_error or fa.read_error:
        return [f"could not read back: metaflow={mf.read_error!r} flowassets={fa.read_error!r}"]
    diffs = []
    for step in sorted(set(mf.steps) | set(fa.steps)):
        mf_tasks, fa_tasks = mf.tasks(step), fa.tasks(step)
        if len(mf_tasks) != len(fa_tasks):
            diffs.append(f"step {step}: {len(mf_tasks)} task(s) in Metaflow, {len(fa_tasks)} in flowassets")
        by_path_mf = _by_path(mf_tasks)
        by_path_fa = _by_path(fa_tasks)
        for path in sorted(set(by_path_mf) | set(by_path_fa)):
            a, b = by_path_mf.get(path, []), by_path_fa.get(path, [])
            if Counter(map(_key, a)) == Counter(map(_key, b)):
                continue
            if len(a) == 1 and len(b) == 1:
                diffs.extend(_task_diff(step, path, a[0]["data"], b[0]["data"]))
            else:
                diffs.append(f"step {step} {list(path)}: Metaflow tasks {[_key(t) for t in a]} "
                             f"!= flowassets tasks {[_key(t) for t in b]}")
    return diffs


def _by_path(tasks: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    out: dict[tuple, list[dict[str, Any]]] = {}
    for task in tasks:
        out.setdefault(tuple(task["path"]), []).append(task)
    return out


def _task_diff(step: str, path: tuple, mf: dict[str, Any], fa: dict[str, Any]) -> list[str]:
    where = f"step {step} {list(path)}" if path else f"step {step}"
    lines = []
    for name in sorted(set(mf) - set(fa)):
        lines.append(f"{where}: artifact {name!r} missing in flowassets (Metaflow: {mf[name]!r})")
    for name in sorted(set(fa) - set(mf)):
        lines.append(f"{where}: artifact {name!r} exists in flowassets ({fa[name]!r}) but "
                     "Metaflow drops it")
    for name in sorted(set(mf) & set(fa)):
        if mf[name] != fa[name]:
            lines.append(f"{where}: artifact {name!r}: Metaflow {mf[name]!r} != flowassets {fa[name]!r}")
    return lines
