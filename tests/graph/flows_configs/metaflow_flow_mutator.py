from metaflow import Config, FlowMutator, FlowSpec, step


class EnvEverywhere(FlowMutator):
    """Adds @environment with the config's variables to every step."""

    def pre_mutate(self, mutable_flow):
        env = dict(mutable_flow.configs)["env"]  # the config's value, set before pre_mutate
        for _, mutable_step in mutable_flow.steps:
            mutable_step.add_decorator("environment", deco_kwargs={"vars": dict(env.vars)})


@EnvEverywhere()
class FlowMutatorFlow(FlowSpec):
    env = Config("env", default_value={"vars": {"STAGE": "dev"}})

    @step
    def start(self):
        import os

        self.stage = os.environ["STAGE"]
        self.next(self.end)

    @step
    def end(self):
        pass
