"""flowassets: Metaflow-style flows as Dagster jobs.

    from flowassets import FlowSpec, step, Parameter, flow_to_job
"""

import importlib as _importlib

from .authoring import (
    USER_SKIP_STEP, Config, ConfigValue, FlowMutator, FlowSpec, IncludeFile, Inputs, JSONType,
    MutableFlow, MutableStep, Parameter, ParameterContext, StepMutator, UserStepDecorator, batch,
    card, catch, conda, config_expr, current, environment,
    kubernetes, parallel, partitioned, project, pypi, resources, retry, schedule, secrets, step,
    timeout, trigger_on_finish, user_step_decorator,
)
from .errors import FlowassetsError


# The package root wires the floors together, so that authoring never imports what lies above
# it: `python my_flow.py run` starts the CLI, and `current.run` / `current.task` are client
# objects. Importing anything under flowassets runs this file first, so both are always set.
def _run_flow_file_as_script(cls: type) -> None:
    from .cli.main import run_flow_class_as_script

    run_flow_class_as_script(cls)


def _open_pathspec(pathspec: str, store: object = None) -> object:
    from .client.reopen import open_pathspec

    return open_pathspec(pathspec, store)


# By module path: the package attribute `flowassets.authoring.current` is the `current` object.
_importlib.import_module("flowassets.authoring.flowspec").SCRIPT_ENTRY = _run_flow_file_as_script
_importlib.import_module("flowassets.authoring.current").OPEN_PATHSPEC = _open_pathspec

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
    "parallel_map": ("flowassets.runtime.parallel_map", "parallel_map"),
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
