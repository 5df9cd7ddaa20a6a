"""A custom decorator whose post_step raises: the step fails (in Metaflow as here), after the
steps before it stored their artifacts."""

from metaflow import FlowSpec, UserStepDecorator, step, user_step_decorator


@user_step_decorator
def checked(step_name, flow, inputs):
    flow.checked_before = step_name
    yield
    if flow.value > 1:
        raise ValueError("value %d is too large for step %s" % (flow.value, step_name))


class NoLuck(UserStepDecorator):
    """Lets the body succeed, then fails the step anyway."""

    def post_step(self, step_name, flow, exception=None):
        return RuntimeError("post_step refused step %s" % step_name), None


class RaisingDecoratorFlow(FlowSpec):
    @checked
    @step
    def start(self):
        self.value = 1
        self.next(self.grow)

    @checked
    @step
    def grow(self):
        self.value = 5
        self.next(self.end)

    @NoLuck
    @step
    def end(self):
        pass


if __name__ == "__main__":
    RaisingDecoratorFlow()
