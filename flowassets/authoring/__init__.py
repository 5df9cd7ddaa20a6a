"""The Metaflow-compatible authoring API."""

from .configs import Config, ConfigValue, ParameterContext, config_expr
from .current import current
from .decorators import (
    batch, card, catch, conda, environment, kubernetes, parallel, partitioned, project, pypi,
    resources, retry, schedule, secrets, timeout, trigger_on_finish,
)
from .flowspec import FlowSpec, Inputs, step
from .mutators import FlowMutator, MutableFlow, MutableStep, StepMutator
from .parameters import IncludeFile, JSONType, Parameter
from .user_decorators import USER_SKIP_STEP, UserStepDecorator, user_step_decorator

__all__ = [
    "FlowSpec", "Inputs", "step", "Parameter", "IncludeFile", "JSONType", "current", "batch", "card", "catch",
    "conda", "environment", "kubernetes", "parallel", "partitioned", "project", "pypi", "resources", "retry",
    "schedule", "secrets", "timeout", "trigger_on_finish", "Config", "ConfigValue",
    "ParameterContext", "config_expr",
    "user_step_decorator", "UserStepDecorator", "USER_SKIP_STEP", "StepMutator", "FlowMutator",
    "MutableStep", "MutableFlow",
]
