"""The per-task state bound to a flow object: lazy upstream artifacts and the transition.

A step reads an attribute it did not set -> ``read`` looks the name up in the upstream
manifest and loads only that blob (cached). After the body, ``collect`` works out the task's
full artifact namespace: upstream hashes passed down untouched, new or changed values saved.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

from ..storage.artifacts import ArtifactStore
from ..storage.manifest import ArtifactRef, ForeachFrame

#: Values of these types cannot change in place, so a loaded one never needs re-hashing.
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset)
_INTERNAL = frozenset({"_flowassets_state"})


class TaskState:
    def __init__(self, *, flow_name: str, step_name: str, store: ArtifactStore,
                 upstream: Mapping[str, ArtifactRef], foreach_stack: tuple[ForeachFrame, ...] = (),
                 parameter_names: frozenset[str] = frozenset(), is_join: bool = False):
        self.flow_name = flow_name
        self.step_name = step_name
        self.store = store
        self.upstream = dict(upstream)
        self.foreach_stack = foreach_stack
        self.parameter_names = parameter_names
        self.is_join = is_join
        self.transition = None
        self.passdown: dict[str, ArtifactRef] = {}
        self.extra_internal: frozenset[str] = frozenset()  # a front end's own attributes
        self._cache: dict[str, Any] = {}
        self._foreach_values: dict[int, Any] = {}

    def read(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        ref = self.upstream.get(name) or self.passdown.get(name)
        if ref is None:
            where = "the join's inputs" if self.is_join else "any upstream step"
            hint = (" After a join only what the join sets or merges (merge_artifacts) exists."
                    if self.is_join else "")
            raise AttributeError(
                f"flow {self.flow_name}, step {self.step_name!r}: no artifact {name!r} in "
                f"{where}.{hint}"
            )
        value = self.store.load(ref, name)
        self._cache[name] = value
        return value

    def foreach_value(self, level: int, flow: Any = None) -> Any:
        """The item of foreach ``level`` as Metaflow's ``self.input`` sees it: ``var[index]`` of
        the foreach variable *as visible in this task*. Metaflow reads the variable itself, so
        where it is no longer visible (past a join that did not merge it) the value is None,
        and a body that reassigns it sees the new value's item."""
        frame = self.foreach_stack[level]
        if frame.var is not None:
            if flow is not None and frame.var in vars(flow):
                return foreach_item(vars(flow)[frame.var], frame.index)
            if frame.var not in self.upstream and frame.var not in self.passdown:
                return None
        if level not in self._foreach_values:
            frame = self.foreach_stack[level]
            if frame.value_sha is None:
                self._foreach_values[level] = None
            else:
                ref = ArtifactRef(frame.value_sha, frame.value_encoding, frame.value_size)
                self._foreach_values[level] = self.store.load(ref, "input")
        return self._foreach_values[level]

    def refs(self) -> Mapping[str, ArtifactRef]:
        return self.upstream

    def is_parameter(self, name: str) -> bool:
        return name in self.parameter_names

    def names_set_here(self, flow: Any) -> set[str]:
        return {k for k in vars(flow) if k not in _INTERNAL and k not in self.extra_internal}

    def collect(self, flow: Any, base: Mapping[str, ArtifactRef]) -> dict[str, ArtifactRef]:
        """The task's artifacts: ``base`` + merged names + everything the body set or changed."""
        result = dict(base)
        result.update(self.passdown)
        for name, value in vars(flow).items():
            if name in _INTERNAL or name in self.extra_internal or name.startswith("__"):
                continue
            result[name] = self.store.save(value)
        for name, value in self._cache.items():
            if name in vars(flow) or name not in result or isinstance(value, _IMMUTABLE):
                continue
            # Loaded and possibly mutated in place (list.append, df[...] = ...): re-hash it
            # (an unchanged value keeps its ref without writing anything).
            result[name] = self.store.save(value, unchanged=result[name])
        return result


def foreach_item(values: Any, index: int) -> Any:
    """Item ``index`` of a foreach variable, as Metaflow finds it: ``values[index]`` (so a dict
    with keys 0..n-1 gives its values), or the index-th item iterated when it has no
    ``__getitem__`` (a set, a generator-like object)."""
    try:
        return values[index]
    except TypeError:
        return next(itertools.islice(iter(values), index, index + 1))
