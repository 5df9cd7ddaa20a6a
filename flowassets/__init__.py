"""flowassets: Metaflow-style flows as Dagster jobs.

    from flowassets import FlowSpec, step, Parameter, flow_to_job
"""

from .authoring import (
    USER_SKIP_STEP, Config, ConfigValue, FlowMutator, FlowSpec, IncludeFile, Inputs, JSONType,
    MutableFlow, MutableStep, Parameter, ParameterContext, StepMutator, UserStepDecorator, batch,
    card, catch, conda, config_expr, current, environment,
    kubernetes, parallel, parallel_map, partitioned, project, pypi, resources, retry, schedule, secrets, step,
    timeout, trigger_on_finish, user_step_decorator,
)
from .errors import FlowassetsError

__all__ = [
    "Config", "ConfigValue", "ParameterContext", "config_expr",
    "FlowSpec", "IncludeFile", "Inputs", "JSONType", "Parameter", "batch", "card", "catch", "conda", "current",
    "environment", "kubernetes", "parallel", "partitioned", "project", "pypi", "resources", "retry", "schedule",
    "secrets", "step", "timeout", "trigger_on_finish", "FlowassetsError", "flow_to_job",
    "build_definitions", "FlowTranslator", "FlowTranslatorSettings", "parallel_map",
    "flow_to_assets", "FlowComponent", "dead_driver_sensor", "user_step_decorator",
    "UserStepDecorator", "USER_SKIP_STEP", "StepMutator", "FlowMutator", "MutableStep", "MutableFlow",
    "Runner", "NBRunner",
]

_LAZY = {
    "flow_to_job": ("flowassets.translate.job", "flow_to_job"),
    "build_definitions": ("flowassets.translate.job", "build_definitions"),
    "FlowTranslator": ("flowassets.translate.translator", "FlowTranslator"),
    "FlowTranslatorSettings": ("flowassets.translate.translator", "FlowTranslatorSettings"),
    "flow_to_assets": ("flowassets.translate.assets", "flow_to_assets"),
    "FlowComponent": ("flowassets.component", "FlowComponent"),
    "dead_driver_sensor": ("flowassets.client.recovery", "dead_driver_sensor"),
    "Runner": ("flowassets.runner", "Runner"),
    "NBRunner": ("flowassets.runner", "NBRunner"),
}


def __getattr__(name: str):
    # Dagster is imported only when a job is built: `import flowassets` in a step stays cheap.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(name)


def __dir__() -> list[str]:
    # `dg` finds components by listing this module (the dagster_dg_cli.registry_modules entry
    # point); listing is cheap, only getattr imports a lazy name.
    return sorted([*globals(), *_LAZY])
