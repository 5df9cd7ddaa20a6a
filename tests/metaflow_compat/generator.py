"""A seeded generator of random valid Metaflow flows, to compare flowassets against Metaflow.

A flow is a block of segments between ``start`` and ``end``; a segment is a plain step, a
static split (2-3 branches, each a block) and its join, a foreach (its body a block) and its
join, or a switch (2-3 cases, each a block) and the ordinary step where the cases meet. Blocks
nest, so foreach nests inside foreach, splits and switches go inside foreach bodies, and so on.

Every value is deterministic (step names, foreach indices, parameters), and every join
combines its inputs order-independently (sorted), so both systems must store exactly the same
artifacts. Joins pick a merge mode the generator knows is conflict-free (it tracks which names
vary between the inputs): none, all, include=[names set before the split], or
exclude=[names that vary].

    python -m tests.metaflow_compat.generator --seeds 50        # compare 50 flows
    python -m tests.metaflow_compat.generator --seed 7 --print  # show one flow's source
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PARAMS = {  # name -> (declaration, command-line value generator)
    "p_int": ('Parameter("p_int", default={d}, type=int)', lambda r: str(r.randint(0, 9))),
    "p_str": ('Parameter("p_str", default="s{d}")', lambda r: r.choice(["x", "hello", "a b"])),
    "p_float": ('Parameter("p_float", default={d}.5, type=float)', lambda r: str(r.randint(0, 9) / 4)),
    "p_flag": ('Parameter("p_flag", default=False, type=bool)', lambda r: r.choice(["True", "False"])),
    "p_json": ('Parameter("p_json", default=\'{{"k": {d}}}\', type=JSONType)',
               lambda r: r.choice(['{"k": [1, 2]}', '[1, "two", null]', '{"nested": {"a": 1.5}}'])),
}


@dataclass(frozen=True)
class GeneratedFlow:
    seed: int
    name: str
    source: str
    args: tuple[str, ...]
    tasks_estimate: int


@dataclass
class _Step:
    name: str
    args: str  # "" or ", inputs"
    body: list[str]
    next_line: str = ""


@dataclass
class _Gen:
    rng: random.Random
    max_depth: int
    max_tasks: int
    steps: list[_Step] = field(default_factory=list)
    counter: int = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # A block returns (entry step name, names it assigns, names that vary between tasks,
    # names sure to exist after it). Entry names are allocated first so that segments can be
    # rendered front to back, each knowing where it continues and what exists before it.
    def block(self, cont: str, depth: int, width: int, in_foreach: bool,
              definite: set[str]) -> tuple[str, set[str], set[str], set[str]]:
        count = self.rng.randint(1, 3 if depth == 0 else 2)
        kinds = [self._pick_kind(depth, width) for _ in range(count)]
        prefix = {"linear": "s", "split": "split", "foreach": "fe", "switch": "sw"}
        names = [self.fresh(prefix[k]) for k in kinds]
        assigned, varying = set(), set()
        for i, kind in enumerate(kinds):
            nxt = names[i + 1] if i + 1 < len(names) else cont
            seg = getattr(self, kind)(names[i], nxt, depth, width, in_foreach, definite)
            assigned |= seg[0]
            varying |= seg[1]
            definite = seg[2]
        return names[0], assigned, varying, definite

    def _pick_kind(self, depth: int, width: int) -> str:
        if depth >= self.max_depth or width * 3 > self.max_tasks or len(self.steps) > 16:
            return "linear"
        return self.rng.choice(["linear", "linear", "split", "foreach", "foreach", "switch"])

    def _value(self, name: str, in_foreach: bool) -> tuple[str, bool]:
        """An expression for artifact ``name``, and whether it varies between foreach tasks."""
        choice = self.rng.randint(0, 5)
        if choice == 0:
            return f'"{name}-const"', False
        if choice == 1:
            return f"({self.rng.randint(0, 99)}, {self.rng.random():.3f}, None)", False
        idx = "[i for i, _, _ in self.foreach_stack()]"
        if choice == 2:
            return f'{{"name": "{name}", "path": {idx}, "p": self.p_int}}', in_foreach
        if choice == 3:
            return f"self.p_float * (1 + sum({idx}))", in_foreach
        if choice == 4:
            return f'(repr(self.input), self.index, "{name}")', in_foreach
        return f'sorted({{"{name}", str(len(self.acc))}})', False

    def _assign(self, step: str, in_foreach: bool) -> tuple[list[str], set[str], set[str]]:
        lines = [f'self.acc = self.acc + ["{step}"]']
        assigned, varying = {"acc"}, set()
        for k in range(self.rng.randint(1, 2)):
            name = f"v_{step}_{k}"
            expr, varies = self._value(name, in_foreach)
            lines.append(f"self.{name} = {expr}")
            assigned.add(name)
            if varies:
                varying.add(name)
        return lines, assigned, varying

    def linear(self, name: str, cont: str, depth: int, width: int, in_foreach: bool,
               definite: set[str]):
        lines, assigned, varying = self._assign(name, in_foreach)
        self.steps.append(_Step(name, "", lines, f"self.next(self.{cont})"))
        return assigned, varying, definite | (assigned - {"acc"})

    def _join(self, name: str, cont: str, inner_assigned: set[str], inner_varying: set[str],
              before: set[str], foreach: bool) -> tuple[set[str], set[str]]:
        lines = ["self.acc = sorted(x for i in inputs for x in i.acc)",
                 f"self.n_{name} = sum(1 for _ in inputs)"]
        probe = sorted(inner_assigned - {"acc"})
        if probe:
            pick = self.rng.choice(probe)
            lines.append(f'self.seen_{name} = sorted(repr(getattr(i, "{pick}", None)) for i in inputs)')
        modes = ["none", "exclude"] + (["include"] if before else []) + ([] if foreach else ["all"])
        mode = self.rng.choice(modes)
        kept: set[str] = set()  # names sure to exist after the join
        if mode == "all":
            lines.append("self.merge_artifacts(inputs)")
            kept = set(before)
        elif mode == "include":
            names = sorted(self.rng.sample(sorted(before), self.rng.randint(1, len(before))))
            lines.append(f"self.merge_artifacts(inputs, include={names})")
            kept = set(names)
        elif mode == "exclude":
            # A foreach body's names may differ from item to item: exclude them all (acc is
            # set by the join, so merge skips it). A split's names are set on one branch only,
            # or to equal values on all: no conflict; drop one name anyway.
            pool = sorted((before | inner_assigned) - {"acc"})
            extra = set(self.rng.sample(pool, min(1, len(pool))))
            names = sorted(((inner_varying if foreach else set()) | extra) - {"acc"})
            lines.append(f"self.merge_artifacts(inputs, exclude={names})")
            kept = set(before) - set(names)
        self.steps.append(_Step(name, ", inputs", lines, f"self.next(self.{cont})"))
        assigned = {"acc", f"n_{name}"} | ({f"seen_{name}"} if probe else set())
        return assigned, kept | (assigned - {"acc"})

    def split(self, name: str, cont: str, depth: int, width: int, in_foreach: bool,
              definite: set[str]):
        join = self.fresh("join")
        lines, assigned, varying = self._assign(name, in_foreach)
        here = (definite | assigned) - {"acc"}
        entries, inner_a, inner_v, ends = [], set(), set(), []
        same = f"same_{name}" if self.rng.random() < 0.5 else None
        n = self.rng.randint(2, 3)
        for _ in range(n):
            entry, a, v, end = self.block(join, depth + 1, width * n, in_foreach, here)
            entries.append(entry)
            ends.append(end)
            inner_a |= a
            inner_v |= v
        if same:
            for entry in entries:  # equal values on every branch: merging them is no conflict
                step = next(s for s in self.steps if s.name == entry)
                step.body.append(f'self.{same} = ("{same}", self.p_int)')
            inner_a.add(same)
        targets = ", ".join(f"self.{e}" for e in entries)
        self.steps.append(_Step(name, "", lines, f"self.next({targets})"))
        # Names sure to reach the join on every branch: unchanged since the split, or equal.
        common = set.intersection(*ends) & (here | ({same} if same else set()))
        join_assigned, after = self._join(join, cont, inner_a, inner_v, common, foreach=False)
        return assigned | inner_a | join_assigned, varying | inner_v, after

    def foreach(self, name: str, cont: str, depth: int, width: int, in_foreach: bool,
                definite: set[str]):
        join = self.fresh("join")
        lines, assigned, varying = self._assign(name, in_foreach)
        n = self.rng.randint(1, 3)
        var = f"items_{name}"
        lines.append(f"self.{var} = " + self.rng.choice([
            f"list(range({n}))", f'[("{name}", k) for k in range({n})]', f"tuple(range(10, 10 + {n}))",
            f'"abc"[:{n}]', f"range({n})",
        ]))
        assigned.add(var)
        here = (definite | assigned) - {"acc"}
        entry, inner_a, inner_v, end = self.block(join, depth + 1, width * n, True, here)
        self.steps.append(_Step(name, "", lines, f'self.next(self.{entry}, foreach="{var}")'))
        # Every name the body sets may differ from item to item (it always does via acc).
        join_assigned, after = self._join(join, cont, inner_a, inner_a, end & here, foreach=True)
        return assigned | inner_a | join_assigned, varying | inner_v, after

    def switch(self, name: str, cont: str, depth: int, width: int, in_foreach: bool,
               definite: set[str]):
        meet = self.fresh("meet")
        lines, assigned, varying = self._assign(name, in_foreach)
        n = self.rng.randint(2, 3)
        keys = [f'"c{k}"' for k in range(n)] if self.rng.random() < 0.7 else [str(k) for k in range(n)]
        pick = "(self.p_int + sum(i for i, _, _ in self.foreach_stack()))" if in_foreach else "self.p_int"
        lines.append(f"self.cond_{name} = {[eval(k) for k in keys]!r}[{pick} % {n}]")
        assigned.add(f"cond_{name}")
        meet_lines, meet_a, meet_v = self._assign(meet, in_foreach)
        self.steps.append(_Step(meet, "", meet_lines, f"self.next(self.{cont})"))
        here = (definite | assigned) - {"acc"}
        cases, inner_a, inner_v, ends = [], set(), set(), []
        for key in keys:
            entry, a, v, end = self.block(meet, depth + 1, width, in_foreach, here)
            ends.append(end)
            cases.append(f"{key}: self.{entry}")
            inner_a |= a
            inner_v |= v
        self.steps.append(_Step(name, "", lines,
                                f'self.next({{{", ".join(cases)}}}, condition="cond_{name}")'))
        # After the meet only the names set before the switch and in the meet are sure to exist.
        after = set.intersection(*ends) | (meet_a - {"acc"})
        return assigned | inner_a | meet_a, varying | inner_v | meet_v, after


def generate(seed: int, max_depth: int = 3, max_tasks: int = 24) -> GeneratedFlow:
    rng = random.Random(seed)
    gen = _Gen(rng, max_depth, max_tasks)
    flow = f"Gen{seed}Flow"
    entry, _, _, _ = gen.block("end", 0, 1, False, set())
    start = ['self.acc = ["start"]',
             "self.params = [self.p_int, self.p_str, self.p_float, self.p_flag, self.p_json]"]
    gen.steps.append(_Step("start", "", start, f"self.next(self.{entry})"))
    gen.steps.append(_Step("end", "", ["self.final = sorted(self.acc)",
                                       "self.n_acc = len(self.acc)"]))
    out = ["from metaflow import FlowSpec, step, Parameter, JSONType", "", "",
           f"class {flow}(FlowSpec):"]
    defaults = rng.randint(0, 9)
    for pname, (decl, _) in PARAMS.items():
        out.append(f"    {pname} = {decl.format(d=defaults)}")
    for s in sorted(gen.steps, key=lambda s: (s.name != "start", s.name == "end")):
        out += ["", "    @step", f"    def {s.name}(self{s.args}):"]
        out += [f"        {line}" for line in s.body]
        if s.next_line:
            out.append(f"        {s.next_line}")
    args: list[str] = []
    for pname, (_, value) in PARAMS.items():
        if rng.random() < 0.6:
            args += [f"--{pname}", value(rng)]
    return GeneratedFlow(seed, flow, "\n".join(out) + "\n", tuple(args), len(gen.steps))


def main(argv: list[str] | None = None) -> int:
    from .harness import run_both

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds to compare")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--seed", type=int, help="only this seed")
    parser.add_argument("--print", action="store_true", help="print the source, do not run")
    parser.add_argument("--keep", help="keep run directories under this folder")
    args = parser.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
    failed = []
    for seed in seeds:
        flow = generate(seed)
        if args.print:
            print(flow.source, "# args:", " ".join(flow.args))
            continue
        root = Path(args.keep) / f"seed{seed}" if args.keep else Path(tempfile.mkdtemp(prefix=f"gen{seed}-"))
        result = run_both(flow.source, root, flow.args)
        problems = []
        if result.metaflow.returncode != 0:
            problems.append("Metaflow rejected or failed the flow:\n" + result.metaflow.output[-1500:])
        elif result.flowassets.returncode != 0:
            problems.append("flowassets failed:\n" + result.flowassets.output[-1500:])
        else:
            problems = result.differences()
        status = "ok" if not problems else "DIFF"
        print(f"seed {seed}: {status} ({flow.tasks_estimate} steps, args {' '.join(flow.args)})",
              flush=True)
        if problems:
            failed.append(seed)
            print("  " + "\n  ".join(problems[:15]), flush=True)
    if not args.print:
        print(f"\n{len(list(seeds)) - len(failed)}/{len(list(seeds))} seeds identical; differing: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
