"""From a flow class to a validated ``FlowGraph``, or one error listing every problem.

The checks mirror Metaflow's lint.py (and go further: every problem is reported, not just the
first). Nesting is computed in one pass in topological order, linear in the size of the
graph, unlike Metaflow's path enumeration.
"""

from __future__ import annotations

import weakref
from collections import deque
from typing import Any, Iterable, Mapping, Union

from ..authoring.decorators import DecoratorSpec, flow_decorators, step_decorators
from ..authoring.decospecs import attach_to_step, decospecs_key, parse_decospecs
from ..authoring.flowspec import RESERVED_NAMES
from ..errors import DecoratorError, FlowDefinitionError, GraphError, Problem
from ..authoring.configs import bound_configs
from ..authoring.flow_classes import flow_class_of, is_flow_class, is_metaflow_class  # noqa: F401 - re-exported
from . import model
from .decorator_checks.steps_and_flow import check_flow_decorators, check_step_decorators
from .configs import config_values_key, own_configs, resolve_config_values, resolved_decorators
from .parameter_specs import parameter_specs
from .parse import ParsedFlow, ParsedStep, parse_flow

#: ``--with`` decorators as given: texts (``"retry:times=2"``) or ``authoring.decospecs`` specs.
WithDecorators = Union[Iterable[Union[str, DecoratorSpec]], str, None]

#: flow class -> {config values key + --with key: (class to run, graph)}
_CACHE: "weakref.WeakKeyDictionary[type, dict[str, tuple[type, model.FlowGraph]]]" = \
    weakref.WeakKeyDictionary()


def build_graph(cls: type, configs: Mapping[str, Any] | None = None,
                with_decorators: WithDecorators = ()) -> model.FlowGraph:
    """Parse and validate ``cls``; raises ``FlowDefinitionError`` with every problem found.

    ``configs``: config name -> value to build with (None, or a config left out: the flow's
    default). The graph carries the values; decorators and Parameter defaults are resolved.
    ``with_decorators``: ``--with`` texts (or parsed specs) added to every step."""
    return build_flow(cls, configs, with_decorators)[1]


def build_flow(cls: type, configs: Mapping[str, Any] | None = None,
               with_decorators: WithDecorators = ()) -> tuple[type, model.FlowGraph]:
    """The class to run and its graph for these config values: the class itself, or for a
    Metaflow class with Configs or mutators the class Metaflow's machinery processed
    (``metaflow_configs.prepare_metaflow_class``), which every task must use too.

    ``with_decorators`` are added to every step that lacks them (Metaflow's ``--with`` rule),
    before the decorator checks, so an added one is checked like one written in the file."""
    added = parse_decospecs(with_decorators, getattr(cls, "__name__", None))
    per_values = _CACHE.setdefault(cls, {})
    added_key = decospecs_key(added)
    key = ("defaults" if configs is None else config_values_key(configs)) + added_key
    if key in per_values:
        return per_values[key]
    if getattr(cls, "_graph", None) is not None and is_metaflow_class(cls):
        from .metaflow_configs import prepare_metaflow_class
        from .metaflow_graph import graph_from_metaflow

        prepared = prepare_metaflow_class(cls, configs)
        result = (prepared, graph_from_metaflow(prepared, added))
    else:
        values = resolve_config_values(cls, values=configs) if (configs or own_configs(cls)) else {}
        result = (cls, _build(cls, config_values=values, with_decorators=added))
    per_values[key] = per_values[config_values_key(result[1].config_values()) + added_key] = result
    return result


def _build(cls: type, parameter_holder: type | None = None,
           extra: dict[str, Any] | None = None, config_values: Mapping[str, Any] | None = None,
           configs: tuple[model.ConfigSpec, ...] | None = None,
           with_decorators: tuple[DecoratorSpec, ...] = ()) -> model.FlowGraph:
    """``parameter_holder``: a class whose attributes are the flow's Parameters as ours (the
    Metaflow front end converts Metaflow's); ``extra`` is kept on the graph; ``config_values``
    resolve flowassets' own Configs (``configs``: the Metaflow front end's, already applied);
    ``with_decorators``: parsed ``--with`` specs added to every step (``attach_to_step``)."""
    parsed = parse_flow(cls)
    problems = list(parsed.problems)
    for step in parsed.steps.values():
        problems.extend(step.problems)
    if configs is None:
        configs = tuple(model.ConfigSpec(attr, c.name, (config_values or {}).get(c.name), c.plain,
                                         c.help) for attr, c in own_configs(cls))
    bound = bound_configs({c.name: c.value for c in configs}, {c.name: c.plain for c in configs})
    decos = {name: resolved_decorators(step_decorators(step.func), bound, parsed.name, name,
                                       step.file, problems)
             for name, step in parsed.steps.items()}
    decos = {name: attach_to_step(specs, with_decorators) for name, specs in decos.items()}
    flow_decos = resolved_decorators(flow_decorators(cls), bound, parsed.name, None, parsed.file,
                                     problems)
    params, param_problems = parameter_specs(parameter_holder or cls, parsed, bound)
    problems.extend(param_problems)
    structural = _check_structure(parsed, {p.attr_name for p in params}, decos)
    problems.extend(structural)
    nodes: dict[str, model.StepNode] = {}
    order: tuple[str, ...] = ()
    if not structural and not any(p.code in _FATAL_PARSE for p in problems):
        order = _topological(parsed, problems)
        if order:
            nodes = _analyse(parsed, order, problems, decos)
    for step in parsed.steps.values():
        problems.extend(check_step_decorators(parsed.name, step.name, decos[step.name],
                                              step.file, nodes.get(step.name)))
    problems.extend(check_flow_decorators(parsed.name, flow_decos, parsed.file))
    if problems:
        graph_codes = {p.code for p in problems if not p.code.startswith("decorator")}
        error = GraphError if graph_codes else DecoratorError
        raise error(_dedupe(problems))
    return model.FlowGraph(
        flow_name=parsed.name, steps=nodes, order=order, parameters=tuple(params),
        flow_decorators=flow_decos, doc=_doc(cls), file=parsed.file,
        **({"extra": extra} if extra else {}), configs=configs, with_decorators=with_decorators,
    )


_FATAL_PARSE = {"multiple-next", "switch-needs-dict", "bad-next-target", "dict-without-condition",
                "source-unavailable"}


def _doc(cls: type) -> str | None:
    import inspect

    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _check_structure(parsed: ParsedFlow, param_names: set[str],
                     decos: Mapping[str, tuple]) -> list[Problem]:
    flow, steps, problems = parsed.name, parsed.steps, []

    def add(code: str, message: str, step: ParsedStep | None = None, fix: str | None = None) -> None:
        problems.append(Problem(code, flow, message, step.name if step else None,
                                step.file if step else parsed.file,
                                step.line if step else None, fix))

    if "start" not in steps:
        add("missing-start", "there is no step named 'start'.", fix="add @step def start(self).")
    if "end" not in steps:
        add("missing-end", "there is no step named 'end'.", fix="add @step def end(self).")
    for step in steps.values():
        if step.name in RESERVED_NAMES:
            add("reserved-step-name", f"{step.name!r} is reserved by FlowSpec.", step,
                "rename the step.")
        if not (step.name.isascii() and step.name.isidentifier()):
            add("bad-step-name", "step names must be ASCII letters, digits and '_' (Dagster's rule).",
                step)
        if step.name == "end":
            if step.has_next:
                add("end-has-next", "the end step must not call self.next().", step,
                    "remove self.next() from end.")
        elif not step.has_next and not step.problems:
            add("missing-next", "the step does not end with self.next(...).", step,
                "add self.next(self.<following step>) as the last statement.")
        for target in step.out:
            if target not in steps:
                add("unknown-next-target", f"self.next() names {target!r}, which is not a @step "
                    "of this flow.", step, f"decorate {target!r} with @step or fix the name.")
        if step.name == "start" and step.takes_inputs:
            add("start-is-join", "the start step cannot take inputs.", step)
        if step.num_parallel is not None:
            for target in step.out:
                if target in steps and not any(d.name == "parallel" for d in decos[target]):
                    add("parallel-target-not-parallel", f"num_parallel goes to {target!r}, which "
                        "is not decorated with @parallel.", step, f"add @parallel to {target!r}.")
        if step.foreach_var and not parsed.dynamic_setattr:
            if step.foreach_var not in parsed.assigned_names and step.foreach_var not in param_names:
                add("foreach-var-never-set", f"foreach={step.foreach_var!r} names an artifact that "
                    "no step sets.", step, f"assign self.{step.foreach_var} before self.next().")
        if step.condition_var and not parsed.dynamic_setattr:
            if step.condition_var not in parsed.assigned_names and step.condition_var not in param_names:
                add("condition-var-never-set", f"condition={step.condition_var!r} names an artifact "
                    "that no step sets.", step, f"assign self.{step.condition_var} first.")
    return problems


def _topological(parsed: ParsedFlow, problems: list[Problem]) -> tuple[str, ...]:
    flow, steps = parsed.name, parsed.steps
    reachable, queue = {"start"}, deque(["start"])
    while queue:
        for target in steps[queue.popleft()].out:
            if target not in reachable:
                reachable.add(target)
                queue.append(target)
    for name, step in steps.items():
        if name not in reachable:
            problems.append(Problem("unreachable-step", flow, "no path from start reaches this step.",
                                    name, step.file, step.line,
                                    "call self.next() to it from another step, or delete it."))
    indegree = {n: 0 for n in reachable}
    for n in reachable:
        for t in _forward(steps[n]):
            indegree[t] += 1
    ready = deque(n for n in reachable if indegree[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for t in _forward(steps[n]):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    start = steps.get("start")
    if start is not None and start.switch_cases and "start" in start.out:
        problems.append(Problem(
            "loop-on-start", flow, "the start step's switch loops back to start; a loop "
            "(a switch case naming its own step) cannot begin the flow.", "start", start.file,
            start.line, "loop in a step after start: self.next(self.loop_step) from start."))
    if len(order) != len(reachable):
        loop = _on_cycles(steps, {n for n in reachable if indegree[n] > 0})
        switch = [n for n in loop if steps[n].switch_cases]
        if switch:
            problems.append(Problem(
                "switch-loop", flow, f"the switch in step {switch[0]!r} loops back to an earlier "
                f"step through {loop}; a switch may loop back only to its own step (a recursive "
                "switch, as Metaflow 2.19 allows), which flowassets runs as one op.", switch[0],
                steps[switch[0]].file, steps[switch[0]].line,
                "do the loop's work in the switch step and name that step in its case "
                "(self.next({'again': self.<switch step>, 'done': self.<next>}, condition=...)), "
                "or repeat the work inside one step."))
        else:
            problems.append(Problem("cycle", flow, f"steps {loop} form a cycle.", loop[0],
                                    steps[loop[0]].file, steps[loop[0]].line,
                                    "a flow must be acyclic: remove the edge that points back."))
        return ()
    return tuple(order)


def _on_cycles(steps: Mapping[str, ParsedStep], left: set[str]) -> list[str]:
    """The steps of ``left`` (those a topological sort could not place) that lie on a cycle,
    sorted; the others are only downstream of one."""
    def reaches_itself(start: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for t in _forward(steps[todo.pop()]):
                if t == start:
                    return True
                if t in left and t not in seen:
                    seen.add(t)
                    todo.append(t)
        return False

    return sorted(n for n in left if reaches_itself(n)) or sorted(left)


def _forward(step: ParsedStep) -> tuple[str, ...]:
    """The step's out-edges without a recursive switch's edge back to itself: the edges the
    job's (acyclic) graph of ops is made of; the loop itself runs inside the step's op."""
    if step.switch_cases is not None:
        return tuple(t for t in step.out if t != step.name)
    return step.out


def _kind(step: ParsedStep) -> str:
    if step.foreach_var is not None:
        return model.FOREACH
    if step.switch_cases is not None:
        return model.SWITCH
    if step.num_parallel is not None:
        return model.PARALLEL_SPLIT
    if len(step.out) > 1:
        return model.SPLIT
    if step.takes_inputs:
        return model.JOIN
    if step.name == "end":
        return model.END
    if step.name == "start":
        return model.START
    return model.LINEAR


def _analyse(parsed: ParsedFlow, order: tuple[str, ...], problems: list[Problem],
             decos: Mapping[str, tuple]) -> dict[str, model.StepNode]:
    flow, steps = parsed.name, parsed.steps
    parents: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for t in _forward(steps[n]):
            parents[t].append(n)
    # For each step: the stack of enclosing splits and which branch of each it is on.
    stack: dict[str, tuple[str, ...]] = {}
    branch: dict[str, tuple[tuple[str, int], ...]] = {}
    joins_of: dict[str, list[str]] = {}
    closes: dict[str, str] = {}
    covered: dict[str, set[int]] = {}
    kinds = {n: _kind(steps[n]) for n in order}

    def add(code: str, message: str, name: str, fix: str | None = None) -> None:
        s = steps[name]
        problems.append(Problem(code, flow, message, name, s.file, s.line, fix))

    for n in order:
        step = steps[n]
        if n == "start":
            stack[n], branch[n] = (), ()
            continue
        contributions = []
        for p in parents[n]:
            ps = steps[p]
            if kinds[p] in model.SPLIT_KINDS:
                contributions.append((p, stack[p] + (p,), branch[p] + ((p, ps.out.index(n)),)))
            else:
                contributions.append((p, stack[p], branch[p]))
        if step.takes_inputs:
            tops = {c[1][-1] if c[1] else None for c in contributions}
            if None in tops:
                add("inputs-on-non-join", "the step takes `inputs` but does not close a split or "
                    "foreach.", n, f"drop the inputs argument: def {n}(self).")
                stack[n], branch[n] = contributions[0][1], contributions[0][2]
                continue
            if len(tops) > 1:
                foreach_tops = [t for t in tops if kinds[t] == model.FOREACH]
                code = "join-mixes-foreach" if foreach_tops else "join-mixes-splits"
                add(code, f"this join closes branches of different splits {sorted(tops)}; a join "
                    "closes the branches of exactly one split (innermost first).", n,
                    "join each split's branches in their own join step.")
                stack[n], branch[n] = contributions[0][1][:-1], contributions[0][2][:-1]
                continue
            split = tops.pop()
            outer = {c[1][:-1] for c in contributions}
            if len(outer) > 1:
                add("inconsistent-nesting", "the inputs of this join come from different nesting "
                    "levels.", n)
            if kinds[split] == model.FOREACH and split in parents[n]:
                add("foreach-straight-to-join", f"foreach step {split!r} goes straight to this "
                    "join; a foreach needs at least one step between split and join.", split)
            joins_of.setdefault(split, []).append(n)
            closes[n] = split
            covered.setdefault(split, set()).update(c[2][-1][1] for c in contributions)
            stack[n], branch[n] = contributions[0][1][:-1], contributions[0][2][:-1]
        else:
            shapes = {(c[1], c[2]) for c in contributions}
            if len(shapes) > 1:
                stacks = {c[1] for c in contributions}
                if len(stacks) == 1:
                    top = next(iter(stacks))[-1]
                    add("join-without-inputs", f"the step merges branches of split {top!r} but "
                        "takes no inputs.", n, f"declare it as a join: def {n}(self, inputs).")
                else:
                    add("inconsistent-nesting", "the step is reached from different split/foreach "
                        f"nesting levels ({sorted(parents[n])}).", n,
                        "join each split before its branches meet.")
            stack[n], branch[n] = contributions[0][1], contributions[0][2]
        if n == "end" and stack[n]:
            add("unjoined-split", f"the flow reaches end inside {list(stack[n])}; every split "
                "and foreach needs a join.", n, "add a join step before end.")
    for n in order:
        step = steps[n]
        if step.takes_inputs and (kinds[n] in model.SPLIT_KINDS or kinds[n] == model.SWITCH):
            add("join-cannot-split", "a join step cannot itself split; add a step after the join.",
                n, f"join in {n!r}, then split in a following step.")
        if step.switch_cases:
            for target in step.out:
                if steps[target].takes_inputs:
                    add("switch-to-join", f"switch case goes straight to join {target!r}; a "
                        "conditional path cannot lead directly to a join step.", n,
                        "put one step between the switch and the join.")
        if n != "start" and any(d.name == "parallel" for d in decos[n]):
            if not all(kinds[p] == model.PARALLEL_SPLIT for p in parents[n]):
                add("parallel-without-num-parallel", "an @parallel step must be reached with "
                    "self.next(self.step, num_parallel=N).", n)
    for split, joins in joins_of.items():
        uniq = list(dict.fromkeys(joins))
        if len(uniq) > 1:
            add("split-joined-twice", f"the branches of this split are joined by several steps "
                f"{uniq}; one join must close all of them.", split, "join all branches in one step.")
        elif kinds[split] == model.SPLIT and covered[split] != set(range(len(steps[split].out))):
            missing = [steps[split].out[i] for i in range(len(steps[split].out))
                       if i not in covered[split]]
            add("split-branch-not-joined", f"branches {missing} never reach join {uniq[0]!r}.",
                split, "route every branch to the same join.")
    for n in order:
        if kinds[n] in model.SPLIT_KINDS and n not in joins_of and not stack.get("end"):
            add("unjoined-split", "this split is never joined.", n, "add a join step.")
    nodes = {}
    for n in order:
        s = steps[n]
        nodes[n] = model.StepNode(
            name=n, kind=kinds[n], out=s.out, is_join=s.takes_inputs, foreach_var=s.foreach_var,
            condition_var=s.condition_var, switch_cases=s.switch_cases,
            num_parallel=s.num_parallel, decorators=decos[n], doc=s.doc,
            file=s.file, line=s.line, in_steps=tuple(parents[n]), split_parents=stack.get(n, ()),
            closes=closes.get(n),
        )
    return nodes


def validate(cls: type, configs: Mapping[str, Any] | None = None) -> model.FlowGraph:
    """Alias of ``build_graph`` for callers that only want the check."""
    return build_graph(cls, configs)


def problems_of(cls: type) -> tuple[Problem, ...]:
    try:
        build_graph(cls)
    except FlowDefinitionError as err:
        return err.problems
    return ()
