from metaflow import FlowSpec, step, Config, config_expr, StepMutator, resources, environment, project

class AddEnv(StepMutator):
    def init(self, *args, **kwargs):
        self.val = kwargs.get("val", "x")  # noqa: D401
    def pre_mutate(self, mutable_step):
        mutable_step.add_decorator("environment", deco_kwargs={"vars": {"ADDED": self.val}})

@project(name=config_expr("cfg").project)
class MutFlow(FlowSpec):
    cfg = Config("cfg", default_value={"cpu": 2, "project": "proj", "nested": {"a": 1}})

    @AddEnv(val="hello")
    @resources(cpu=config_expr("cfg.cpu"))
    @step
    def start(self):
        import os
        print("ADDED", os.environ.get("ADDED"), self.cfg.cpu)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    MutFlow()
