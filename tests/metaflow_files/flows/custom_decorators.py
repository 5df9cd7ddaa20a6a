"""Custom step decorators (Metaflow 2.16+) as people write them, after Metaflow's own examples
(test/test_included_modules/my_decorators.py): generators with and without attributes, a class
that skips a step, one that replaces the body, post_step swallowing or replacing an exception,
on linear, foreach and join steps. Every value is deterministic, so the artifacts compare."""

from metaflow import FlowSpec, UserStepDecorator, USER_SKIP_STEP, step, user_step_decorator


@user_step_decorator
def traced(step_name, flow, inputs):
    flow.trace = ["traced-pre"]
    yield
    flow.trace = flow.trace + ["traced-post"]


@user_step_decorator
def labelled(step_name, flow, inputs, attributes):
    flow.trace = flow.trace + ["labelled-pre:%s" % attributes["label"]]
    flow.label = "%s@%s" % (attributes["label"], step_name)
    yield
    flow.trace = flow.trace + ["labelled-post"]


@user_step_decorator
def swallow(step_name, flow, inputs):
    try:
        yield
    except ZeroDivisionError as exc:
        flow.swallowed = "%s: %s" % (type(exc).__name__, exc)


@user_step_decorator
def record_error(step_name, flow, inputs):
    try:
        yield
    except Exception as exc:
        flow.seen_error = "%s: %s" % (type(exc).__name__, exc)


class RenameError(UserStepDecorator):
    """post_step replaces the body's exception with another one (an outer decorator sees it)."""

    def post_step(self, step_name, flow, exception=None):
        if exception is not None:
            return RuntimeError("renamed %s" % type(exception).__name__), None
        return None, None


class SkipSome(UserStepDecorator):
    def init(self, *args, **kwargs):
        self.skip_steps = kwargs.get("skip_steps", [])

    def pre_step(self, step_name, flow, inputs=None):
        if step_name in self.skip_steps:
            flow.items = ["p", "q"]  # a skipped foreach step still fans out over its variable
            self.skip_step = True

    def post_step(self, step_name, flow, exception=None):
        flow.did_skip = step_name in self.skip_steps
        if exception:
            raise exception


class Replace(UserStepDecorator):
    """pre_step returns a function that runs instead of the step; True means: the step's own
    self.next()."""

    def pre_step(self, step_name, flow, inputs=None):
        def instead(flow, inputs=None):
            flow.replaced_in = step_name
            flow.input_count = len(list(inputs)) if inputs is not None else 0
            if inputs is not None:
                flow.merge_artifacts(inputs, exclude=["item", "swallowed"])
            flow.doubled = sorted(i.item for i in inputs) if inputs is not None else []
            return True

        return instead

    def post_step(self, step_name, flow, exception=None):
        # None keeps the True returned above (the default (None, None) would drop it, and the
        # step would end without a self.next(), in Metaflow as here).
        return None


@user_step_decorator
def skip_quietly(step_name, flow, inputs):
    flow.quiet = True
    yield USER_SKIP_STEP


class CustomDecoratorFlow(FlowSpec):
    @traced
    @labelled(label="first")
    @step
    def start(self):
        self.trace = self.trace + ["body"]
        self.next(self.fan)

    @SkipSome(skip_steps=["fan"])
    @step
    def fan(self):
        raise AssertionError("this body is skipped")
        self.items = ["never"]
        self.next(self.each, foreach="items")

    @swallow
    @step
    def each(self):
        self.item = self.input * 2
        self.ratio = 1 / 0
        self.next(self.gather)

    @Replace
    @step
    def gather(self, inputs):
        raise AssertionError("replaced")
        self.next(self.renamed)

    @record_error
    @RenameError
    @step
    def renamed(self):
        raise ValueError("bad value")
        self.next(self.quiet_step)

    @skip_quietly
    @step
    def quiet_step(self):
        raise AssertionError("skipped with USER_SKIP_STEP")
        self.next(self.end)

    @step
    def end(self):
        self.summary = [self.label, self.replaced_in, self.input_count, self.seen_error, self.quiet]


if __name__ == "__main__":
    CustomDecoratorFlow()
