"""Read a flow class's structure from its source, without running any step.

As Metaflow's graph.py does, the ``self.next(...)`` call of each step is found in the step's
AST. Each class in the flow's MRO is parsed once (not once per step), which keeps a
1,000-step flow fast to translate.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ..authoring.decorators import step_decorators
from ..authoring.mutators import apply_mutators, step_functions
from ..authoring.source import class_source, flow_file
from ..authoring.user_decorators import step_function_of
from ..errors import Problem
from . import model


@dataclass
class ParsedStep:
    """A step as written: its transition and where it is, before graph analysis."""

    name: str
    func: Any
    file: str | None
    line: int | None
    doc: str | None
    out: tuple[str, ...] = ()
    foreach_var: str | None = None
    condition_var: str | None = None
    switch_cases: dict[str, str] | None = None
    num_parallel: int | None = None
    has_next: bool = False
    takes_inputs: bool = False
    extra_args: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ParsedFlow:
    name: str
    file: str | None  # a .py file that defines the flow when imported; None: a notebook cell
    steps: dict[str, ParsedStep]
    assigned_names: set[str]  # every `self.X = ...` seen anywhere in the class
    dynamic_setattr: bool  # a setattr(self, <expr>, ...) makes assigned_names incomplete
    problems: list[Problem]




def parse_flow(cls: type) -> ParsedFlow:
    apply_mutators(cls)  # flowassets' own mutators: the steps are read as they leave them
    flow = cls.__name__
    funcs = step_functions(cls)
    problems: list[Problem] = []
    trees: dict[str, tuple[ast.FunctionDef, str, int]] = {}
    assigned: set[str] = set()
    dynamic = False
    for klass in cls.__mro__:
        if klass is object or klass.__module__.startswith("flowassets."):
            continue
        source = class_source(klass)
        if source is None:
            if any(name in vars(klass) for name in funcs):
                problems.append(Problem(
                    "source-unavailable", flow,
                    f"the source of class {klass.__name__} cannot be read, so its steps' "
                    "self.next() calls cannot be found.",
                    fix="define the flow in a .py file or a notebook cell (not in an exec string).",
                ))
            continue
        file, start = source.file, source.start
        tree = ast.parse(textwrap.dedent("".join(source.lines)))
        class_def = tree.body[0]
        for node in ast.walk(class_def):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_self(node.value):
                assigned.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "setattr" and node.args and _is_self(node.args[0])):
                if len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    assigned.add(str(node.args[1].value))
                else:
                    dynamic = True
        for item in getattr(class_def, "body", []):
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in funcs \
                    and item.name not in trees and step_function_of(vars(klass).get(item.name)) is funcs[item.name]:
                trees[item.name] = (item, file, start - 1)
    steps = {}
    for name, func in funcs.items():
        parsed = ParsedStep(name, func, None, None, inspect.getdoc(func))
        if name in trees:
            node, file, offset = trees[name]
            parsed.file, parsed.line = file, node.lineno + offset
            _read_signature(flow, parsed, node)
            _read_transition(flow, parsed, node, offset)
        steps[name] = parsed
    return ParsedFlow(flow, flow_file(cls), steps, assigned, dynamic, problems)


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _read_signature(flow: str, parsed: ParsedStep, node: ast.FunctionDef) -> None:
    args = [a.arg for a in node.args.args]
    if not args or args[0] != "self":
        parsed.problems.append(Problem(
            "bad-signature", flow, "a step must be a method whose first argument is self.",
            parsed.name, parsed.file, parsed.line, fix=f"def {parsed.name}(self): ..."))
        return
    rest = args[1:]
    parsed.takes_inputs = len(rest) >= 1
    parsed.extra_args = tuple(rest[1:]) if len(rest) > 1 else ()
    if parsed.extra_args or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
        parsed.problems.append(Problem(
            "bad-signature", flow,
            "a step takes self, and a join step also takes inputs; nothing else.",
            parsed.name, parsed.file, parsed.line,
            fix=f"def {parsed.name}(self) or def {parsed.name}(self, inputs)"))


def _next_calls(node: ast.FunctionDef) -> list[ast.Call]:
    """In source order (ast.walk is breadth-first), so a message can point at the second call."""
    calls = [
        n for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        and n.func.attr == "next" and _is_self(n.func.value)
    ]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _read_transition(flow: str, parsed: ParsedStep, node: ast.FunctionDef, offset: int) -> None:
    def problem(code: str, message: str, line: int | None = None, fix: str | None = None) -> None:
        parsed.problems.append(Problem(code, flow, message, parsed.name, parsed.file,
                                       (line + offset) if line else parsed.line, fix))

    calls = _next_calls(node)
    if not calls:
        return
    parsed.has_next = True
    if len(calls) > 1:
        problem("multiple-next", f"self.next() is called {len(calls)} times; a step has exactly one "
                "transition.", calls[1].lineno,
                fix="use one self.next(...) as the last statement (use a switch for a choice).")
        return
    call = calls[0]
    last = node.body[-1]
    if not (isinstance(last, ast.Expr) and last.value is call):
        problem("next-not-last", "self.next() must be the last statement of the step.",
                call.lineno, fix="move self.next(...) to the end of the step.")
    kwargs = {k.arg: k.value for k in call.keywords}
    for key in kwargs:
        if key not in ("foreach", "condition", "num_parallel"):
            problem("bad-next-argument", f"self.next() has no argument {key!r}.", call.lineno,
                    fix="use foreach=, condition= or num_parallel=.")
    if "condition" in kwargs:
        cond = kwargs["condition"]
        if not (isinstance(cond, ast.Constant) and isinstance(cond.value, str)):
            problem("bad-condition", "condition= must be a string literal naming an artifact.",
                    call.lineno, fix='self.next({...}, condition="attr_name")')
        else:
            parsed.condition_var = cond.value
        if "foreach" in kwargs:
            problem("switch-with-foreach", "a step cannot both switch (condition=) and foreach.",
                    call.lineno, fix="split the foreach and the switch into two steps.")
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Dict):
            problem("switch-needs-dict", "a switch takes one dict literal of cases.", call.lineno,
                    fix='self.next({"a": self.a, "b": self.b}, condition="attr")')
            return
        cases: dict[str, str] = {}
        for key, value in zip(call.args[0].keys, call.args[0].values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, (str, int, float, bool))):
                problem("switch-case-not-literal", "switch case keys must be string or number "
                        "literals.", call.lineno)
                continue
            target = _target_name(value)
            if target is None:
                problem("bad-next-target", "each switch case must name a step as self.step_name.",
                        call.lineno)
                continue
            cases[str(key.value)] = target
        parsed.switch_cases = cases
        parsed.out = tuple(dict.fromkeys(cases.values()))
        if len(cases) < 2:
            problem("switch-too-few-cases", f"a switch needs at least 2 cases, found {len(cases)}.",
                    call.lineno, fix="add a case, or use a plain self.next(self.step).")
        return
    if any(isinstance(a, ast.Dict) for a in call.args):
        problem("dict-without-condition", "a dict of cases needs condition=\"attr\".", call.lineno)
        return
    targets = []
    for arg in call.args:
        target = _target_name(arg)
        if target is None:
            problem("bad-next-target", f"self.next() arguments must be steps written as "
                    f"self.step_name, got `{ast.unparse(arg)}`.", call.lineno,
                    fix="pass the step method itself, e.g. self.next(self.train).")
            continue
        targets.append(target)
    parsed.out = tuple(targets)
    if not call.args:
        problem("next-without-target", "self.next() needs at least one step.", call.lineno)
    if "foreach" in kwargs:
        fe = kwargs["foreach"]
        if not (isinstance(fe, ast.Constant) and isinstance(fe.value, str) and fe.value):
            problem("bad-foreach", "foreach= must be a string literal naming an artifact.",
                    call.lineno, fix='self.next(self.body, foreach="items")')
        else:
            parsed.foreach_var = fe.value
        if len(call.args) != 1:
            problem("foreach-targets", "a foreach goes to exactly one step.", call.lineno)
    if "num_parallel" in kwargs:
        npar = kwargs["num_parallel"]
        if isinstance(npar, ast.Constant) and isinstance(npar.value, int) and not isinstance(npar.value, bool):
            parsed.num_parallel = npar.value
            if npar.value < 1:
                problem("bad-num-parallel", "num_parallel must be a positive integer.", call.lineno)
        else:
            parsed.num_parallel = -1  # decided at run time
        if len(call.args) != 1:
            problem("parallel-targets", "num_parallel goes to exactly one @parallel step.",
                    call.lineno)


def _target_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and _is_self(node.value):
        return node.attr
    return None


def collect_parameters(cls: type) -> list[tuple[str, Any]]:
    from ..authoring.parameters import Parameter

    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Parameter):
                found[name] = value
    return list(found.items())


def decorators_of(parsed: ParsedStep) -> tuple:
    return step_decorators(parsed.func)


__all__ = ["ParsedFlow", "ParsedStep", "parse_flow", "collect_parameters", "model"]
