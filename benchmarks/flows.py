"""Flow files for the benchmark cases, generated as source (the graph parser reads source).

Each case is written twice with the same step bodies: once importing from ``flowassets`` and
once from ``metaflow``, so the only difference between the two runs is the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FRONT_ENDS = ("flowassets", "metaflow")


@dataclass(frozen=True)
class FlowSource:
    """One generated flow: its class name and the body of the file after the import line."""

    class_name: str
    body: str

    def write(self, directory: Path, front_end: str) -> Path:
        path = directory / f"{self.class_name.lower()}_{front_end}.py"
        imports = "FlowSpec, step"
        path.write_text(
            f"from {front_end} import {imports}\n\n{self.body}\n\n"
            f"if __name__ == \"__main__\":\n    {self.class_name}()\n"
        )
        return path


def foreach_flow(width: int) -> FlowSource:
    body = f'''
class ForeachBench(FlowSpec):
    """A foreach of {width} trivial tasks."""

    @step
    def start(self):
        self.items = list(range({width}))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.out = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.out for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == {width * (width - 1)}, self.total
'''
    return FlowSource("ForeachBench", body)


def linear_flow(steps: int, class_name: str = "LinearBench") -> FlowSource:
    """``steps`` steps in a chain (start and end included), each setting one small artifact."""
    if steps < 2:
        raise ValueError("a flow needs at least start and end")
    names = ["start"] + [f"step_{i:04d}" for i in range(1, steps - 1)] + ["end"]
    parts = [f'class {class_name}(FlowSpec):\n    """{steps} trivial steps in a line."""\n']
    for i, name in enumerate(names):
        nxt = f"        self.next(self.{names[i + 1]})\n" if i + 1 < len(names) else ""
        parts.append(f"    @step\n    def {name}(self):\n        self.x{i % 7} = {i}\n{nxt}")
    return FlowSource(class_name, "\n".join(parts))


def cold_start_flow() -> FlowSource:
    body = '''
class ColdStartBench(FlowSpec):
    """start -> end, nothing else: the fixed cost of one run."""

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
'''
    return FlowSource("ColdStartBench", body)


def large_artifact_flow(mib: int) -> FlowSource:
    """A ``mib`` MiB float64 array made in ``start``, summed in ``consume``; ``small`` touches
    only a small artifact, so its duration shows whether the big one is loaded or copied.

    The array is random (not zeros), so compression cannot shrink it: real arrays rarely
    compress well, and Metaflow gzips every artifact it saves. It is unseeded, so a repeat
    cannot skip the write: both stores are content-addressed and would find the blob present.
    """
    body = f'''
class LargeArtifactBench(FlowSpec):
    """A {mib} MiB array passed from one step to the next."""

    @step
    def start(self):
        import numpy as np

        self.array = np.random.default_rng().random({mib} * (1 << 20) // 8)
        self.label = "big"
        self.next(self.consume)

    @step
    def consume(self):
        self.total = float(self.array.sum())
        self.next(self.small)

    @step
    def small(self):
        self.tag = self.label + "-seen"
        self.next(self.end)

    @step
    def end(self):
        pass
'''
    return FlowSource("LargeArtifactBench", body)
