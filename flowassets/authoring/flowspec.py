"""``FlowSpec`` and ``@step``: the Metaflow authoring surface.

The class body is only a declaration. When a step runs, the runtime binds a task state to a
fresh flow object; attributes the step does not set are read lazily from upstream tasks
through that state (``__getattr__``), so a task loads only the artifacts it touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from ..errors import FlowassetsError, MergeConflict

#: Names a step (or Parameter) may not take, because FlowSpec already uses them.
RESERVED_NAMES = frozenset(
    {
        "next",
        "input",
        "index",
        "foreach_stack",
        "merge_artifacts",
        "name",
        "cmd",
        "script_name",
        "parameters",
    }
)


def step(func: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a method as a step of the flow, as Metaflow's ``@step`` does."""
    func.is_step = True  # type: ignore[attr-defined]
    return func


@dataclass(frozen=True)
class Transition:
    """What ``self.next(...)`` said at run time."""

    targets: tuple[str, ...]
    foreach: str | None = None
    condition: str | None = None
    cases: Mapping[Any, str] | None = None  # switch: case value (as written) -> step
    num_parallel: int | None = None


#: Starts the CLI for ``python my_flow.py run ...``; set by the package root (flowassets/__init__.py),
#: which sits above the CLI, so this floor does not import it.
SCRIPT_ENTRY: Callable[[type], None] | None = None


class FlowSpec:
    """Base class of a flow; subclass it and add ``@step`` methods, as in Metaflow."""

    _flowassets_state: Any = None  # set by the runtime on each task's flow object

    def __init__(self, use_cli: bool = True) -> None:
        # Metaflow flows end with `MyFlow()` under __main__; that starts the CLI there, and so here.
        if use_cli and type(self).__module__ == "__main__" and SCRIPT_ENTRY is not None:
            SCRIPT_ENTRY(type(self))

    # -- artifacts -------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name.startswith("_flowassets"):
            raise AttributeError(name)
        state = self.__dict__.get("_flowassets_state")
        if state is None:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} (the flow is not running a step)."
            )
        return state.read(name)

    def _flowassets_read_artifact(self, name: str) -> Any:
        state = self.__dict__.get("_flowassets_state")
        if state is None:
            raise AttributeError(f"Parameter {name!r} has no value outside a running flow.")
        return state.read(name)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def script_name(self) -> str:
        import os

        from .source import class_source, flow_file

        # A flow from a notebook cell has no file: the cell's name is where it is written.
        source = class_source(type(self))
        path = flow_file(type(self)) or (source.file if source else type(self).__name__)
        return os.path.basename(path)

    # -- foreach ---------------------------------------------------------------------------
    @property
    def index(self) -> int | None:
        stack = self._flowassets_state.foreach_stack if self._flowassets_state else ()
        return stack[-1].index if stack else None

    @property
    def input(self) -> Any:
        stack = self._flowassets_state.foreach_stack if self._flowassets_state else ()
        return self._flowassets_state.foreach_value(len(stack) - 1, self) if stack else None

    def foreach_stack(self) -> list[tuple[int, int, Any]] | None:
        state = self._flowassets_state
        if state is None or not state.foreach_stack:
            return []
        return [
            (frame.index, frame.num_splits, state.foreach_value(i, self))
            for i, frame in enumerate(state.foreach_stack)
        ]

    # -- transitions -----------------------------------------------------------------------
    def next(self, *dsts: Any, foreach: str | None = None, condition: str | None = None,
             num_parallel: int | None = None) -> None:
        state = self._flowassets_state
        step_name = state.step_name if state else "?"
        if state is not None and state.transition is not None:
            raise FlowassetsError(
                f"flow {self.name}, step {step_name!r}: self.next() was called twice; "
                "call it exactly once, as the last statement of the step."
            )
        cases = None
        if condition is not None:
            if len(dsts) != 1 or not isinstance(dsts[0], dict):
                raise FlowassetsError(
                    f"flow {self.name}, step {step_name!r}: a switch needs one dict of cases, "
                    'e.g. self.next({"a": self.a, "b": self.b}, condition="attr").'
                )
            cases = {key: _step_name_of(fn) for key, fn in dsts[0].items()}
            targets = tuple(dict.fromkeys(cases.values()))
        else:
            targets = tuple(_step_name_of(fn) for fn in dsts)
        transition = Transition(targets, foreach, condition, cases, num_parallel)
        if state is not None:
            state.transition = transition

    # -- joins -----------------------------------------------------------------------------
    def merge_artifacts(self, inputs: "Inputs", exclude: list[str] | None = None,
                        include: list[str] | None = None) -> None:
        state = self._flowassets_state
        where = f"flow {self.name}, step {state.step_name!r}"
        if not isinstance(inputs, Inputs):
            raise FlowassetsError(f"{where}: merge_artifacts can only be called in a join step, "
                                  "with the step's `inputs` argument.")
        if include and exclude:
            raise FlowassetsError(f"{where}: merge_artifacts takes include or exclude, not both.")
        exclude_set = set(exclude or ())
        candidates: dict[str, dict[str, Any]] = {}  # name -> {sha: ref}
        for inp in inputs:
            for name, ref in inp._flowassets_state.refs().items():
                candidates.setdefault(name, {})[ref.sha] = ref
        if include:
            missing = [n for n in include if n not in candidates]
            if missing:
                raise FlowassetsError(
                    f"{where}: merge_artifacts(include=...) names {missing}, which no input has."
                )
        already = state.names_set_here(self)
        conflicts, merged = [], {}
        for name, refs in candidates.items():
            if name in already or name in exclude_set or (include and name not in include):
                continue
            if state.is_parameter(name):
                continue
            if len(refs) > 1:
                conflicts.append(name)
            else:
                merged[name] = next(iter(refs.values()))
        if conflicts:
            raise MergeConflict(
                f"{where}: merge_artifacts found different values on different branches for "
                f"{sorted(conflicts)}. Set them in the join, or pass exclude=[...] to drop them."
            )
        state.passdown.update(merged)


class Inputs:
    """A join step's inputs: iterate them, index them, or read one by step name."""

    def __init__(self, flows: list[FlowSpec]):
        self._flows = list(flows)
        self._by_step = {f._flowassets_state.step_name: f for f in self._flows}

    def __iter__(self) -> Iterator[FlowSpec]:
        return iter(self._flows)

    def __getitem__(self, index: int) -> FlowSpec:
        return self._flows[index]

    def __getattr__(self, step_name: str) -> FlowSpec:
        if step_name.startswith("_"):
            raise AttributeError(step_name)
        try:
            return self.__dict__["_by_step"][step_name]
        except KeyError:
            raise AttributeError(
                f"this join has no input from step {step_name!r}; inputs come from "
                f"{sorted(self.__dict__['_by_step'])}"
            ) from None


def _step_name_of(target: Any) -> str:
    name = getattr(target, "__name__", None)
    if name is None or not getattr(target, "is_step", False):
        raise FlowassetsError(
            f"self.next() takes step methods (self.my_step), got {target!r}."
        )
    return name
