"""The normalized flow model: what every later stage (translate, runtime, client) reads.

Frozen and free of user code, so it can be built once per flow class, cached, pickled into
subprocesses, and compared in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..authoring.decorators import DecoratorSpec

# Step kinds, as Metaflow names them.
START, LINEAR, SPLIT, FOREACH, SWITCH, PARALLEL_SPLIT, JOIN, END = (
    "start", "linear", "split", "foreach", "split-switch", "split-parallel", "join", "end",
)
SPLIT_KINDS = frozenset({SPLIT, FOREACH, PARALLEL_SPLIT})


@dataclass(frozen=True)
class ParameterSpec:
    attr_name: str
    name: str
    type_name: str
    default: Any
    has_default: bool
    required: bool
    help: str | None
    is_text: bool = True  # IncludeFile: the contents as text (else bytes) ...
    encoding: str = "utf-8"  # ... decoded with this
    #: a callable default (Metaflow's deploy-time default): called once per run, in the start
    #: step, with a ``ParameterContext``; ``default`` is None then
    default_fn: Any = None


@dataclass(frozen=True)
class ConfigSpec:
    """A Config with the value this graph was built with (a plain dict, or anything for a
    plain config); the start step stores it as the ``attr_name`` artifact."""

    attr_name: str
    name: str
    value: Any
    plain: bool = False
    help: str | None = None


@dataclass(frozen=True)
class StepNode:
    name: str
    kind: str
    out: tuple[str, ...]
    is_join: bool
    foreach_var: str | None = None
    condition_var: str | None = None
    switch_cases: Mapping[str, str] | None = None
    num_parallel: int | None = None
    decorators: tuple[DecoratorSpec, ...] = ()
    doc: str | None = None
    file: str | None = None
    line: int | None = None
    # Filled by analysis: steps leading here, and the enclosing splits (outermost first).
    in_steps: tuple[str, ...] = ()
    split_parents: tuple[str, ...] = ()
    closes: str | None = None  # for a join: the split whose branches it joins

    def decorator(self, name: str) -> DecoratorSpec | None:
        for spec in self.decorators:
            if spec.name == name:
                return spec
        return None

    @property
    def is_split(self) -> bool:
        return self.kind in SPLIT_KINDS

    @property
    def is_loop(self) -> bool:
        """A recursive switch (Metaflow 2.19): a case routes back to the step itself, so the
        step runs as a loop of iterations inside its one op (``runtime.loops``)."""
        return self.kind == SWITCH and self.name in self.out

    @property
    def exits(self) -> tuple[str, ...]:
        """The steps this one can go to next, other than itself (a loop's way out)."""
        return tuple(t for t in self.out if t != self.name)


@dataclass(frozen=True)
class FlowGraph:
    """A validated flow: steps in topological order, parameters, flow decorators."""

    flow_name: str
    steps: Mapping[str, StepNode]
    order: tuple[str, ...]
    parameters: tuple[ParameterSpec, ...] = ()
    flow_decorators: tuple[DecoratorSpec, ...] = ()
    doc: str | None = None
    file: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    configs: tuple[ConfigSpec, ...] = ()
    #: the ``--with`` decorators added to every step lacking them: with ``config_values()``,
    #: what rebuilds this graph in another process (``build_flow(cls, configs, with_decorators)``)
    with_decorators: tuple[DecoratorSpec, ...] = ()

    def config_values(self) -> dict[str, Any]:
        """Config name -> value: what rebuilds this graph (``build_graph(cls, configs=...)``)."""
        return {c.name: c.value for c in self.configs}

    def run_input_names(self) -> frozenset[str]:
        """Attributes every task gets from the start step: Parameters and Configs (they cross
        joins unmerged and are read-only, as in Metaflow)."""
        return frozenset([p.attr_name for p in self.parameters] + [c.attr_name for c in self.configs])

    def __getitem__(self, name: str) -> StepNode:
        return self.steps[name]

    def __iter__(self):
        return (self.steps[n] for n in self.order)

    def inside_foreach(self, node: StepNode) -> bool:
        """Whether the step runs once per foreach item (at any nesting depth)."""
        return any(self.steps[p].kind == FOREACH for p in node.split_parents if p in self.steps)

    def is_parallel_node(self, node: StepNode) -> bool:
        """Whether the step is the body of a @parallel split (a gang of nodes)."""
        return any(self.steps[p].kind == PARALLEL_SPLIT for p in node.in_steps if p in self.steps)
