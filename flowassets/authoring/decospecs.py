"""``--with DECORATOR[:k=v,...]``: a step decorator given on the command line, as a spec.

One parsed form for every way of asking for it (``flowassets run/resume --with``, ``python
flow.py run --with``, the Runner's ``decospecs``, ``FlowTranslatorSettings(with_decorators=...)``
and the component): a ``DecoratorSpec`` whose ``added_with`` keeps the text the user gave, so a
bad value is reported by the graph's build-time checks saying it came from ``--with``.
``graph.build`` adds the specs to every step, as Metaflow's ``_attach_decorators`` does.

The text is read with Metaflow 2.19's rule (``StepDecorator.extract_args_kwargs_from_decorator_
spec``): arguments are split on the commas that start another ``name=``, each value is JSON when
it parses as JSON, else an int, else a float, else the text itself. flowassets also reads a
Python literal (``True``, ``{'a': 1}``, ``'quoted'``) where Metaflow would keep the text, as
``--with kubernetes`` did before.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any, Iterable

from ..errors import DecoratorSpecError
from .decorators import (FLOW_DEFAULTS, MULTIPLE_ALLOWED, STEP_DEFAULTS, UNSUPPORTED_STEP_DECORATORS,
                         DecoratorSpec)

#: Metaflow's split: a comma followed by ``name=`` starts the next argument.
_ARGUMENT_START = re.compile(r""",(?=[\s\w]+=)""")


def parse_decospec(text: str, flow: str | None = None) -> DecoratorSpec:
    """``"retry:times=2"`` -> ``DecoratorSpec("retry", {"times": 2}, added_with="retry:times=2")``.

    Refuses (``DecoratorSpecError``, naming the flow when given) a name that is not a step
    decorator flowassets knows, and an argument without ``=``. Argument names and values are
    checked later, with the step's own decorators, when the graph is built."""
    if not isinstance(text, str):
        raise DecoratorSpecError(f"{_flow(flow)}--with takes text like 'retry' or "
                                 f"'retry:times=2', got {text!r}.")
    name, _, rest = text.strip().partition(":")
    name = name.strip()
    if name not in STEP_DEFAULTS:
        what = "a flow decorator" if name in FLOW_DEFAULTS else "not a step decorator flowassets knows"
        runs = [n for n in STEP_DEFAULTS if n not in UNSUPPORTED_STEP_DECORATORS]
        raise DecoratorSpecError(
            f"{_flow(flow)}--with {text}: {name!r} is {what}. --with adds a step decorator to "
            f"every step; flowassets runs these: {', '.join(runs)}.")
    args: dict[str, Any] = {}
    for item in (_ARGUMENT_START.split(rest) if rest.strip() else ()):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DecoratorSpecError(f"{_flow(flow)}--with {text}: {item!r} is not name=value "
                                     f"(write --with {name}:name=value,name2=value2).")
        args[key.strip()] = _value(raw.strip())
    return DecoratorSpec(name, args, added_with=text.strip())


def parse_decospecs(given: Iterable[str | DecoratorSpec] | str | None,
                    flow: str | None = None) -> tuple[DecoratorSpec, ...]:
    """Each text parsed (a spec passes through): what ``graph.build`` adds to every step."""
    if given is None:
        return ()
    if isinstance(given, str):
        given = (given,)
    return tuple(item if isinstance(item, DecoratorSpec) else parse_decospec(item, flow)
                 for item in given)


def attach_to_step(specs: tuple[DecoratorSpec, ...],
                   added: tuple[DecoratorSpec, ...]) -> tuple[DecoratorSpec, ...]:
    """A step's decorators with the ``--with`` ones it lacks appended, as Metaflow 2.19's
    ``_attach_decorators_to_step``: a step that has the decorator keeps its own (the ``--with``
    one is dropped), unless the decorator may be applied several times (@card)."""
    out = list(specs)
    for spec in added:
        if spec.name in MULTIPLE_ALLOWED or all(s.name != spec.name for s in out):
            out.append(spec)
    return tuple(out)


def decospecs_key(added: tuple[DecoratorSpec, ...]) -> str:
    """Text that tells apart graphs built with different ``--with`` decorators (a cache key)."""
    if not added:
        return ""
    return " --with " + json.dumps([(s.name, dict(s.args)) for s in added], sort_keys=True,
                                   default=repr)


def decospec_text(spec: DecoratorSpec) -> str:
    """A spec as ``--with`` text (Metaflow's ``make_decorator_spec``): numbers and text as they
    are, anything else as JSON."""
    if spec.added_with:
        return spec.added_with
    parts = [f"{k}={v}" if isinstance(v, (int, float, str)) and not isinstance(v, bool)
             else f"{k}={json.dumps(v)}" for k, v in spec.args.items()]
    return spec.name + (":" + ",".join(parts) if parts else "")


def _value(raw: str) -> Any:
    try:
        return json.loads(raw.replace('\\"', '"'))
    except json.JSONDecodeError:
        pass
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def _flow(flow: str | None) -> str:
    return f"flow {flow}: " if flow else ""
