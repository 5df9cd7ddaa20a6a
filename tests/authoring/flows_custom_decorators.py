"""Tiny flows, one custom-decorator or mutator shape each (fixtures for
test_custom_decorators.py)."""

from flowassets import (
    Config, FlowMutator, FlowSpec, MutableStep, Parameter, StepMutator, UserStepDecorator, catch,
    config_expr, environment, resources, retry, schedule, step, user_step_decorator,
)


class Counted(StepMutator):
    """Counts its mutate calls on the class (mutators run once per class)."""

    calls = 0

    def mutate(self, mutable_step):
        Counted.calls += 1
        mutable_step.add_decorator(retry, deco_kwargs={"times": 1, "minutes_between_retries": 0})


class Base(FlowSpec):
    @step
    def end(self):
        pass


class OnceFlow(Base):
    @Counted
    @step
    def start(self):
        self.next(self.end)


class Broken(StepMutator):
    def mutate(self, mutable_step):
        raise KeyError("no such setting")


class BrokenMutatorFlow(Base):
    @Broken
    @step
    def start(self):
        self.next(self.end)


class LateMutator(StepMutator):
    def mutate(self, mutable_step):
        mutable_step.add_decorator(Counted)  # a mutator may add mutators only in pre_mutate


class LateMutatorFlow(Base):
    @LateMutator
    @step
    def start(self):
        self.next(self.end)


class AddsUnknown(StepMutator):
    def mutate(self, mutable_step):
        mutable_step.add_decorator("nvidia", deco_kwargs={"gpu": 1})


class UnknownDecoratorFlow(Base):
    @AddsUnknown
    @step
    def start(self):
        self.next(self.end)


class NoInit(UserStepDecorator):
    pass


class ArgumentsWithoutInitFlow(Base):
    @NoInit(limit=3)
    @step
    def start(self):
        self.next(self.end)


class Rewrite(StepMutator):
    """Reads, removes and replaces decorators; records what it saw on the class."""

    seen: list = []

    def mutate(self, mutable_step):
        Rewrite.seen = sorted(spec[0] for spec in mutable_step.decorator_specs)
        assert mutable_step.has_decorator("catch") and mutable_step.has_decorator("Rewrite")
        assert mutable_step.remove_decorator("catch")
        assert not mutable_step.remove_decorator("catch")
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"A": "1"}})
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"A": "2"}},
                                   duplicates=MutableStep.OVERRIDE)
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"A": "3"}})  # IGNORE


class RewriteFlow(Base):
    @Rewrite
    @catch(var="failure")
    @step
    def start(self):
        self.next(self.end)


class StrictDuplicate(StepMutator):
    def mutate(self, mutable_step):
        mutable_step.add_decorator(retry, duplicates=MutableStep.ERROR)


class DuplicateErrorFlow(Base):
    @StrictDuplicate
    @retry(times=2)
    @step
    def start(self):
        self.next(self.end)


class AddParameterAndSchedule(FlowMutator):
    def init(self, name, default):
        self.name, self.default = name, default

    def pre_mutate(self, mutable_flow):
        mutable_flow.add_parameter(self.name, Parameter(self.name, default=self.default))

    def mutate(self, mutable_flow):
        mutable_flow.add_decorator(schedule, deco_kwargs={"cron": "0 * * * *"})
        names = [name for name, _ in mutable_flow.parameters]
        assert names == ["alpha", self.name], names


@AddParameterAndSchedule("beta", 7)
class FlowMutatorFlow(Base):
    alpha = Parameter("alpha", default=1)

    @step
    def start(self):
        self.total = self.alpha + self.beta
        self.next(self.end)


class ParameterTooLate(FlowMutator):
    def mutate(self, mutable_flow):
        mutable_flow.add_parameter("gamma", Parameter("gamma", default=1))


@ParameterTooLate
class ParameterTooLateFlow(Base):
    @step
    def start(self):
        self.next(self.end)


@user_step_decorator
def twice(step_name, flow, inputs):
    yield
    yield


class YieldTwiceFlow(Base):
    @twice
    @step
    def start(self):
        self.next(self.end)


class Refuse(UserStepDecorator):
    def post_step(self, step_name, flow, exception=None):
        return ValueError(f"refused {step_name}"), None


class CatchAroundDecoratorFlow(Base):
    @catch(var="failure", print_exception=False)
    @Refuse
    @step
    def start(self):
        self.ran = True
        self.next(self.end)


class SkipToOther(UserStepDecorator):
    def pre_step(self, step_name, flow, inputs=None):
        flow.letters = ["a", "b", "c"]
        self.skip_step = {"foreach": "letters"}

    def post_step(self, step_name, flow, exception=None):
        return None  # the default, (None, None), would drop the self.next() arguments (Metaflow)


class SkipWithArgumentsFlow(FlowSpec):
    @SkipToOther
    @step
    def start(self):
        self.letters = ["never"]
        self.next(self.each, foreach="letters")

    @step
    def each(self):
        self.upper = self.input.upper()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.uppers = [i.upper for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


class ReadsConfig(FlowMutator):
    def mutate(self, mutable_flow):
        for name, mutable_step in mutable_flow.steps:
            mutable_step.add_decorator(resources, deco_kwargs={"cpu": mutable_flow.cfg.cpu})


@ReadsConfig
class MutatorReadsConfigFlow(Base):
    cfg = Config("cfg", default_value={"cpu": 2})

    @step
    def start(self):
        self.next(self.end)


class ConfigInArguments(StepMutator):
    def mutate(self, mutable_step):
        mutable_step.add_decorator(resources, deco_kwargs={"cpu": config_expr("cfg.cpu")})


class ConfigExprFromMutatorFlow(Base):
    cfg = Config("cfg", default_value={"cpu": 3})

    @ConfigInArguments
    @step
    def start(self):
        self.next(self.end)
