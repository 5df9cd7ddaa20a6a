"""Every decorator of a flow and of each step checked when the graph is built.

``graph.build`` calls ``check_step_decorators`` and ``check_flow_decorators`` before it returns a
``FlowGraph``, so a bad ``@kubernetes(memory="lots")`` is refused by ``flow_to_job`` instead of by
a pod that never starts. Every check returns ``Problem``s naming flow, step, decorator,
parameter and value. ``CHECKS`` is the one table of which rule checks which argument; the rules
themselves live beside this module (``values``, ``kubernetes_values``, ``batch_values``). Where a
value then becomes a pod or ECS field is compute's business (``compute/kubernetes.py``,
``compute/batch.py``), which imports from here, never the other way round.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ...authoring.decorators import (EXTENSION_HOOKS_HONOURED, FLOW_DEFAULTS, MULTIPLE_ALLOWED,
                                    STEP_DEFAULTS, STEP_EXTENSION_HOOKS_HONOURED,
                                    UNSUPPORTED_STEP_DECORATORS, DecoratorSpec)
from ...errors import Problem
from .batch_values import BATCH_CHECKS
from .kubernetes_values import KUBERNETES_CHECKS, RESOURCE_CHECKS, kubernetes_combination_problems
from .values import Checker, boolean, non_negative_int

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def string_list(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        return f"must be a list of strings, got {value!r}"
    return None


def env_vars_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of variable name to value, got {value!r}"
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            return f"{key!r} is not a valid environment variable name"
        if not isinstance(item, (str, int, float, bool)):
            return f"value of {key!r} must be a string or number, got {type(item).__name__}"
    return None


def identifier_or_none(name: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        return f"must be an artifact name (a Python identifier), got {value!r}"
    return None


def card_name(name: str, value: Any) -> str | None:
    # Metaflow's TYPE_CHECK_REGEX: card types and ids are kept in file names.
    if not isinstance(value, str) or not re.match(r"^[a-zA-Z0-9_]+$", value):
        return "must be letters, digits and '_' only (Metaflow's card naming rule)"
    return None


def card_options(name: str, value: Any) -> str | None:
    return None if isinstance(value, Mapping) else f"must be a dict, got {value!r}"


CHECKS: dict[str, dict[str, Checker]] = {
    "resources": RESOURCE_CHECKS,
    "kubernetes": KUBERNETES_CHECKS,
    "retry": {"times": non_negative_int, "minutes_between_retries": non_negative_int},
    "timeout": {"seconds": non_negative_int, "minutes": non_negative_int, "hours": non_negative_int},
    "catch": {"var": identifier_or_none, "print_exception": boolean},
    "environment": {"vars": env_vars_check},
    "secrets": {"sources": string_list},
    "batch": BATCH_CHECKS,  # ECS limits; the ECS fields themselves: compute/batch.py
    "card": {"type": card_name, "id": card_name, "options": card_options,
             "timeout": non_negative_int, "save_errors": boolean},
}


def check_step_decorators(flow: str, step: str, specs: Iterable[DecoratorSpec], file: str | None,
                          node: Any = None) -> list[Problem]:
    """Every problem with one step's decorators, each naming flow, step, parameter and value."""
    problems: list[Problem] = []
    seen: set[str] = set()
    specs = tuple(specs)
    for spec in specs:
        if spec.name in seen and spec.name not in MULTIPLE_ALLOWED and not spec.extension:
            problems.append(Problem("decorator-duplicate", flow, f"@{spec.name} is applied twice.",
                                    step, file, spec.line, "keep one."))
        seen.add(spec.name)
        if spec.name in UNSUPPORTED_STEP_DECORATORS:
            problems.append(Problem("decorator-unsupported", flow,
                                    UNSUPPORTED_STEP_DECORATORS[spec.name] + _added_by(spec), step,
                                    file, spec.line))
            continue
        if spec.extension and spec.name not in STEP_DEFAULTS:
            problems.extend(_check_extension_decorator(flow, step, spec, file))
            continue
        if spec.name not in STEP_DEFAULTS:
            runs = ", ".join("@" + n for n in STEP_DEFAULTS if n not in UNSUPPORTED_STEP_DECORATORS)
            problems.append(Problem(
                "decorator-unknown", flow, f"flowassets does not know the step decorator "
                f"@{spec.name}{_added_by(spec)}.", step, file, spec.line,
                f"use one of {runs}, or a custom step decorator (user_step_decorator) for code "
                "around the step."))
            continue
        problems.extend(check_decorator_args(flow, step, spec, file))
    if node is not None and node.kind == "foreach" and "catch" in seen:
        spec = next(s for s in specs if s.name == "catch")
        problems.append(Problem("decorator-catch-on-foreach", flow,
                                "@catch is not supported on a foreach split step (as in "
                                f"Metaflow){_added_by(spec)}.",
                                step, file, spec.line, "move the risky work to a step inside the foreach."))
    return problems


def _added_by(spec: DecoratorSpec) -> str:
    if spec.added_with:
        return f" (added to every step by --with {spec.added_with})"
    return f" (added by the mutator {spec.inserted_by})" if spec.inserted_by else ""


def check_decorator_args(flow: str, step: str, spec: DecoratorSpec, file: str | None,
                         source: str | None = None) -> list[Problem]:
    """Problems with one decorator's arguments; ``source`` names where they came from when it
    was not the flow file. One added by ``--with`` says so in every message."""
    where = source or f"@{spec.name}"
    problems: list[Problem] = []
    added = _added_by(spec) if spec.added_with else ""

    def add(message: str, code: str = "decorator-bad-value", fix: str | None = None) -> None:
        if added:
            message = message.rstrip(".") + added + "."
            fix = fix or f"fix the value given to --with {spec.name}."
        problems.append(Problem(code, flow, message, step, file, spec.line, fix))

    allowed = STEP_DEFAULTS.get(spec.name, {})
    for arg, value in spec.args.items():
        if arg == "_positional":
            add(f"{where} takes keyword arguments only, got {value!r}.",
                "decorator-positional-argument", f"write @{spec.name}(name=value).")
            continue
        if arg not in allowed:
            add(f"{where} has no argument {arg!r} (value {value!r}); known: {', '.join(allowed)}.",
                "decorator-unknown-argument")
            continue
        check = CHECKS.get(spec.name, {}).get(arg)
        if value is None or check is None:
            continue
        message = check(arg, value)
        if message:
            add(f"{where}({arg}={value!r}): {arg} {message}.")
    if spec.name == "timeout" and not problems and timeout_spec_seconds(spec) <= 0:
        add("@timeout needs seconds, minutes or hours greater than 0.")
    if spec.name == "kubernetes" and not problems:
        for arg, message in kubernetes_combination_problems(spec.args):
            add(f"{where}({arg}=...): {message}.")
    return problems


def timeout_spec_seconds(spec: DecoratorSpec) -> int:
    """The total of one @timeout's hours, minutes and seconds (the three add up, as in Metaflow)."""
    args = spec.resolved()
    return int(float(args["hours"])) * 3600 + int(float(args["minutes"])) * 60 + int(float(args["seconds"]))


def check_flow_decorators(flow: str, specs: Iterable[DecoratorSpec], file: str | None) -> list[Problem]:
    problems: list[Problem] = []
    for spec in specs:
        if spec.name not in FLOW_DEFAULTS and spec.extension:
            problems.extend(_check_extension_decorator(flow, None, spec, file))
            continue
        if spec.name not in FLOW_DEFAULTS:
            problems.append(Problem("decorator-unknown", flow, "flowassets does not know the flow "
                                    f"decorator @{spec.name}{_added_by(spec)}.", None, file,
                                    spec.line, f"use {', '.join('@' + n for n in FLOW_DEFAULTS)}."))
            continue
        allowed = FLOW_DEFAULTS.get(spec.name, {})
        for arg in spec.args:
            if arg not in allowed:
                problems.append(Problem("decorator-unknown-argument", flow,
                                        f"@{spec.name} has no argument {arg!r}; known: "
                                        f"{', '.join(allowed)}.", None, file, spec.line))
        if spec.name == "schedule":
            problems.extend(_check_schedule(flow, spec, file))
    return problems


def _check_extension_decorator(flow: str, step: str | None, spec: DecoratorSpec,
                               file: str | None) -> list[Problem]:
    """A flow or step decorator from a Metaflow extension package runs when flowassets can call
    all it overrides: a flow decorator's ``init``/``flow_init`` with its ``options``
    (runtime.flow_extensions), a step decorator's task hooks (runtime.step_extensions), in
    every task. The other hooks belong to Metaflow's launching runtime, packager or
    ``system_ctx``, which never run under flowassets."""
    honoured = EXTENSION_HOOKS_HONOURED if step is None else STEP_EXTENSION_HOOKS_HONOURED
    refused = [h for h in spec.overrides if h not in honoured]
    if not refused:
        return []
    kind = "flow" if step is None else "step"
    keep = ("init, flow_init and options" if step is None
            else ", ".join(sorted(STEP_EXTENSION_HOOKS_HONOURED)))
    return [Problem("decorator-unsupported", flow, f"the {kind} decorator @{spec.name} "
                    f"({spec.extension}, a Metaflow extension){_added_by(spec)} overrides "
                    f"{', '.join(refused)}, which only Metaflow's own runtime calls.", step, file,
                    spec.line, f"keep to {keep} (flowassets calls them in every task), or run "
                    "this flow with Metaflow.")]


def _check_schedule(flow: str, spec: DecoratorSpec, file: str | None) -> list[Problem]:
    args = spec.args
    out = []
    cron = args.get("cron")
    if cron is not None:
        fields = str(cron).split()
        if len(fields) != 5:
            out.append(Problem("decorator-bad-value", flow, f"@schedule(cron={cron!r}) must have "
                               "5 fields (minute hour day month weekday).", None, file, spec.line))
    tz = args.get("timezone")
    if tz is not None:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(tz)
        except Exception:  # noqa: BLE001
            out.append(Problem("decorator-bad-value", flow, f"@schedule(timezone={tz!r}) is not "
                               "a known IANA time zone.", None, file, spec.line))
    return out
