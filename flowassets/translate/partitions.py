"""Partitioned flows: a Dagster partitions definition mapped onto one flow Parameter.

A flow gets partitions from its file (``@partitioned(daily="2026-01-01", parameter="date")``)
or from whoever builds its job (``flow_to_job(Flow, partitions_def=..., partition_parameter=
"date")``, ``FlowTranslatorSettings``, a FlowComponent's ``partitions:`` attribute). The job
carries a ``PartitionedConfig``, so Dagster's own machinery applies unchanged: the launchpad
shows the partition picker and fills the Parameter from the key, a backfill makes one run per
key (each tagged ``dagster/partition``), and a schedule runs the latest partition. The start
step takes the Parameter's value from the run's partition key, whoever launched the run (an
asset materialization from the catalog has no job config), converted to the Parameter's type.

Everything that cannot work is refused when the job is built, naming flow and parameter.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Mapping

import dagster as dg

from ..errors import FlowDefinitionError, ParameterError, Problem
from ..graph import model

PARTITION_TAG = "dagster/partition"  # Dagster's own tag (dagster._core.storage.tags)
DECORATOR = "partitioned"
TIME_KINDS: Mapping[str, type] = {
    "hourly": dg.HourlyPartitionsDefinition, "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition, "monthly": dg.MonthlyPartitionsDefinition,
}
KINDS = (*TIME_KINDS, "static", "dynamic")
#: Parameter types a partition key (a string) converts to; the others cannot hold a key.
KEY_TYPES: Mapping[str, type] = {"str": str, "int": int, "float": float}
_CONFIG_TYPES = {"str": dg.String, "int": dg.Int, "float": dg.Float}
_FIX_FORM = ('@partitioned(daily="2026-01-01", parameter="date"), static=["eu", "us"], '
             'dynamic="regions", or partitions_def=dg.DailyPartitionsDefinition(...)')


class PartitionError(FlowDefinitionError):
    """A partitions definition that cannot be mapped onto the flow's Parameter."""


@dataclass(frozen=True)
class FlowPartitioning:
    """A flow's partitions and the Parameter each partition's key becomes."""

    flow_name: str
    partitions_def: dg.PartitionsDefinition
    parameter: model.ParameterSpec

    @property
    def config_key(self) -> str:
        return self.parameter.name.replace("-", "_")  # as ops.config_key

    def value(self, key: str) -> Any:
        """The Parameter's value for a partition key (its type checked at build time)."""
        try:
            return KEY_TYPES[self.parameter.type_name](key)
        except ValueError:
            raise ParameterError(
                f"flow {self.flow_name}: partition key {key!r} is not a {self.parameter.type_name}, "
                f"the type of Parameter {self.parameter.name!r}; add keys that convert, or make "
                "the Parameter a str.") from None

    def run_config(self, key: str) -> dict[str, Any]:
        return {"ops": {"start": {"config": {self.config_key: self.value(key)}}}}

    def partitioned_config(self) -> dg.PartitionedConfig:
        """What the launchpad, backfills and schedules build each partition's run config from."""
        return dg.PartitionedConfig(self.partitions_def, run_config_for_partition_key_fn=self.run_config)

    def config_field(self) -> dg.Field:
        """The Parameter in the start op's config: optional, as the partition key supplies it."""
        return dg.Field(dg.Noneable(_CONFIG_TYPES[self.parameter.type_name]), is_required=False,
                        description=(self.parameter.help or f"Parameter {self.parameter.name}")
                        + " (set from the run's partition key)")

    def start_config(self, config: Mapping[str, Any], partition_key: str | None) -> dict[str, Any]:
        """The start op's config with the Parameter taken from the run's partition key.

        A run without a partition, or whose config sets the Parameter to another value than its
        partition's (edited in the launchpad), is refused before any step body runs: its
        artifacts would be filed under one partition while computed for another."""
        name = self.parameter.name
        if partition_key is None:
            raise ParameterError(
                f"flow {self.flow_name}: the job is partitioned by Parameter {name!r}, but this run "
                "has no partition. Launch a partition: pick one in the launchpad, launch a "
                f"backfill, `flowassets run FILE --{name} KEY`, or "
                "job.execute_in_process(partition_key=KEY).")
        value = self.value(partition_key)
        given = config.get(self.config_key)
        if given is not None and given != value:
            raise ParameterError(
                f"flow {self.flow_name}: Parameter {name!r} comes from the run's partition "
                f"{partition_key!r} ({value!r}), but the run config also sets it to {given!r}. "
                f"Drop {self.config_key!r} from the run config, or launch partition {given!r}.")
        return {**config, self.config_key: value}


# -- from what the user wrote to a Dagster partitions definition --------------------------------
def partitions_def_from_args(flow: str, args: Mapping[str, Any], file: str | None = None,
                             line: int | None = None) -> dg.PartitionsDefinition:
    """``@partitioned``'s arguments (or a FlowComponent's YAML ``partitions:``) as a Dagster
    partitions definition. ``parameter`` is ignored here: ``check_partitioning`` reads it."""

    def refuse(message: str) -> PartitionError:
        return PartitionError([Problem("partition-bad-definition", flow, message, None, file, line,
                                       f"write one of {_FIX_FORM}.")])

    unknown = sorted(set(args) - {*KINDS, "parameter", "end", "timezone"})
    if unknown:
        raise refuse(f"@{DECORATOR} has no argument(s) {unknown}; known: parameter, "
                     f"{', '.join(KINDS)}, end, timezone.")
    kinds = [k for k in KINDS if args.get(k) is not None]
    if len(kinds) != 1:
        raise refuse(f"@{DECORATOR} needs exactly one of {', '.join(KINDS)}; "
                     f"got {kinds or 'none'}.")
    kind, value = kinds[0], args[kinds[0]]
    extra = {k: args[k] for k in ("end", "timezone") if args.get(k) is not None}
    if kind == "static":
        if extra or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise refuse("static partitions are a list of keys (static=[\"eu\", \"us\"]), "
                         "without end or timezone.")
        keys = [str(v) for v in value]
        return _built(refuse, lambda: dg.StaticPartitionsDefinition(keys))
    if kind == "dynamic":
        if extra or not isinstance(value, str):
            raise refuse("dynamic partitions are named by a string (dynamic=\"regions\"), "
                         "without end or timezone; add keys with instance.add_dynamic_partitions.")
        return dg.DynamicPartitionsDefinition(name=value)
    kwargs = dict(value) if isinstance(value, Mapping) else {"start_date": value}
    accepted = _named_arguments(TIME_KINDS[kind])
    if set(kwargs) - accepted:  # Dagster's classes take **kwargs and ignore what they do not know
        raise refuse(f"{kind} partitions have no argument(s) {sorted(set(kwargs) - accepted)}; "
                     f"{TIME_KINDS[kind].__name__} takes {', '.join(sorted(accepted))}.")
    kwargs = {k: _date_text(v) if k in ("start_date", "end_date") else v for k, v in kwargs.items()}
    if "end" in extra:
        kwargs["end_date"] = _date_text(extra["end"])
    if "timezone" in extra:
        kwargs["timezone"] = extra["timezone"]
    return _built(refuse, lambda: TIME_KINDS[kind](**kwargs), f"{kind} partitions: ")


def _named_arguments(cls: type) -> set[str]:
    import inspect

    params = inspect.signature(cls.__new__).parameters.values()
    return {p.name for p in params if p.name != "cls" and p.kind is not p.VAR_KEYWORD}


def _date_text(value: Any) -> Any:
    """A date written in YAML or Python (``2026-01-01`` unquoted is a date there) as Dagster
    takes it."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d-%H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _built(refuse: Any, make: Any, prefix: str = "") -> dg.PartitionsDefinition:
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - Dagster's check errors, TypeError, ValueError
        raise refuse(f"{prefix}Dagster refused it: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None


# -- is the mapping onto the flow sound? --------------------------------------------------------
def check_partitioning(graph: model.FlowGraph, partitions_def: Any,
                       parameter: str | None) -> FlowPartitioning | None:
    """The flow's partitioning, or None; every problem (named flow and parameter) raised
    together as a ``PartitionError``."""
    if partitions_def is None and parameter is None:
        return None
    flow, spec = graph.flow_name, _decorator(graph)
    file, line = graph.file, spec.line if spec is not None else None

    def problem(code: str, message: str, fix: str | None = None) -> Problem:
        return Problem(code, flow, message, None, file, line, fix)

    if partitions_def is None:
        raise PartitionError([problem(
            "partition-without-definition", f"partition_parameter={parameter!r} is given, but no "
            "partitions definition.", f"add partitions_def=... or {_FIX_FORM}.")])
    if parameter is None:
        raise PartitionError([problem(
            "partition-without-parameter", "the flow is given partitions, but not the Parameter "
            "each partition's key becomes.", "name it: partition_parameter=\"date\" (or "
            f"@{DECORATOR}(..., parameter=\"date\"), or parameter: date in YAML).")])
    if not isinstance(partitions_def, dg.PartitionsDefinition):
        raise PartitionError([problem(
            "partition-bad-definition", f"partitions_def for Parameter {parameter!r} is "
            f"{type(partitions_def).__name__}, not a Dagster PartitionsDefinition.",
            f"write one of {_FIX_FORM}.")])
    by_name = {p.name: p for p in graph.parameters} | {p.attr_name: p for p in graph.parameters}
    param = by_name.get(parameter)
    if param is None:
        known = [p.name for p in graph.parameters]
        raise PartitionError([problem(
            "partition-unknown-parameter", f"partition parameter {parameter!r} is not a Parameter "
            f"of the flow (its Parameters: {known or 'none'}).",
            f"add {parameter} = Parameter({parameter!r}, type=str) to the flow, or name one of "
            f"{known}." if known else f"add {parameter} = Parameter({parameter!r}, type=str).")])
    problems = _type_problems(flow, partitions_def, param, problem)
    problems += _schedule_problems(graph, partitions_def, param, problem)
    if problems:
        raise PartitionError(problems)
    return FlowPartitioning(flow, partitions_def, param)


def _type_problems(flow: str, partitions_def: dg.PartitionsDefinition, param: model.ParameterSpec,
                   problem: Any) -> list[Problem]:
    name, type_name = param.name, param.type_name
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return [problem("partition-unsupported", f"Parameter {name!r}: multi-dimensional partitions "
                        "map onto more than one value; flowassets maps one dimension onto one "
                        "Parameter.", "partition by one dimension (time, static or dynamic).")]
    if type_name not in KEY_TYPES:
        return [problem("partition-parameter-type", f"Parameter {name!r} is {_a(type_name)} "
                        "Parameter; a partition key is a string, and only a str, int or float "
                        "Parameter can hold it.", f"make it Parameter({name!r}, type=str).")]
    if type_name == "str":
        return []
    if not isinstance(partitions_def, dg.StaticPartitionsDefinition):
        kind = "dynamic" if isinstance(partitions_def, dg.DynamicPartitionsDefinition) else "time-window"
        return [problem("partition-parameter-type", f"Parameter {name!r} is {_a(type_name)}, but "
                        f"{kind} partition keys are strings that do not convert to it "
                        f"({'unknown until run time' if kind == 'dynamic' else 'dates'}).",
                        f"make it Parameter({name!r}, type=str) and convert in the step.")]
    bad = [k for k in partitions_def.get_partition_keys() if not _converts(k, KEY_TYPES[type_name])]
    if bad:
        return [problem("partition-parameter-type", f"Parameter {name!r} is {_a(type_name)}, but "
                        f"partition keys {bad[:5]} do not convert to {type_name}.",
                        f"use keys that do, or make it Parameter({name!r}, type=str).")]
    return []


def _schedule_problems(graph: model.FlowGraph, partitions_def: dg.PartitionsDefinition,
                       param: model.ParameterSpec, problem: Any) -> list[Problem]:
    """@schedule on a partitioned flow runs the latest partition (Dagster's
    ``build_schedule_from_partitioned_job``): a time-window flow's cadence is its partitions',
    so a cron of its own cannot be honoured; dynamic partitions have no latest one."""
    schedule = next((d for d in graph.flow_decorators if d.name == "schedule"), None)
    if schedule is None:
        return []
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return [problem("partition-schedule", f"@schedule on a flow partitioned by Parameter "
                        f"{param.name!r} with dynamic partitions: a schedule runs the latest "
                        "partition, and dynamic partitions have no order.",
                        "drop @schedule and launch partitions from a sensor that adds them "
                        "(instance.add_dynamic_partitions + RunRequest(partition_key=...)).")]
    own = [k for k in ("cron", "hourly", "weekly", "timezone") if schedule.args.get(k)]
    if own and not isinstance(partitions_def, dg.StaticPartitionsDefinition):
        return [problem("partition-schedule", f"@schedule({', '.join(own)}=...) on a flow "
                        f"partitioned by time on Parameter {param.name!r}: the schedule runs "
                        "each partition when it ends, so its cadence is the partitions'.",
                        "write @schedule with no arguments (or pick hourly/daily/weekly/monthly "
                        f"partitions in @{DECORATOR}).")]
    return []


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name == "int" else f"a {type_name}"


def _converts(key: str, to: type) -> bool:
    try:
        to(key)
    except ValueError:
        return False
    return True


def _decorator(graph: model.FlowGraph) -> Any:
    return next((d for d in graph.flow_decorators if d.name == DECORATOR), None)


def declared_partitions(graph: model.FlowGraph) -> tuple[dg.PartitionsDefinition | None, str | None]:
    """What the flow file's ``@partitioned`` says: (partitions definition, parameter name)."""
    spec = _decorator(graph)
    if spec is None:
        return None, None
    args = dict(spec.args)
    parameter = args.pop("parameter", None)
    return partitions_def_from_args(graph.flow_name, args, graph.file, spec.line), parameter


def partitioning_of(job_def: Any) -> FlowPartitioning | None:
    """The ``FlowPartitioning`` a job was built with (its ``PartitionedConfig`` runs our
    ``run_config``), or None: how the CLI learns which Parameter is the partition key."""
    config = getattr(job_def, "partitioned_config", None)
    owner = getattr(getattr(config, "run_config_for_partition_key_fn", None), "__self__", None)
    return owner if isinstance(owner, FlowPartitioning) else None


def launch_partition_tags(job_def: Any, parameters: Mapping[str, Any], instance: Any) -> dict[str, str]:
    """Tags that make a run launched with the partition Parameter's value (``flowassets run
    FILE --date 2026-01-05``) that partition's run, as a launchpad or backfill run is; a key
    the partitions do not have, or no value, is refused before the run exists."""
    partitioning = partitioning_of(job_def)
    if partitioning is None:
        return {}
    name, flow = partitioning.parameter.name, partitioning.flow_name
    value = parameters.get(partitioning.config_key)
    if value is None:
        raise ParameterError(f"flow {flow} is partitioned by Parameter {name!r}: pass --{name} "
                             "KEY, the partition to run.")
    partitions_def = partitioning.partitions_def
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        if partitioning.parameter.type_name == "str":  # the value is the key
            key = value if partitions_def.has_partition_key(value) else None
        else:  # static keys that convert to numbers: "3" for 3
            key = next((k for k in partitions_def.get_partition_keys()
                        if partitioning.value(k) == value), None)
        if key is None:
            keys = partitions_def.get_partition_keys()
            shown = f"{keys[:2]} ... {keys[-2:]}" if len(keys) > 4 else str(keys)
            raise ParameterError(f"flow {flow}: --{name} {value!r} is not one of its partitions "
                                 f"({shown if keys else 'none yet'}).")
    return {PARTITION_TAG: key}
