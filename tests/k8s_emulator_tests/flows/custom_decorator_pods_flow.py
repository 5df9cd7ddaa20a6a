"""An unchanged Metaflow file whose foreach step goes to Kubernetes through a StepMutator, and
whose custom decorator wraps each task in its pod."""

from metaflow import FlowSpec, StepMutator, kubernetes, step, user_step_decorator


@user_step_decorator
def doubled(step_name, flow, inputs, attributes):
    flow.before = "%s:%s" % (step_name, attributes["tag"])
    yield
    flow.doubled = flow.value * 2


class OnKubernetes(StepMutator):
    def mutate(self, mutable_step):
        mutable_step.add_decorator(kubernetes, deco_kwargs={"cpu": 0.25, "memory": 200})
        mutable_step.add_decorator(doubled, deco_kwargs={"tag": "pod"})


class CustomDecoratorPodsFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.work, foreach="items")

    @OnKubernetes
    @step
    def work(self):
        self.value = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.results = sorted((i.before, i.doubled) for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CustomDecoratorPodsFlow()
