"""A switch chosen by a Parameter; the branches meet at the next ordinary step."""

from metaflow import FlowSpec, Parameter, step


class SwitchFlow(FlowSpec):
    mode = Parameter("mode", default="fast", type=str)

    @step
    def start(self):
        self.route = self.mode
        self.next({"fast": self.fast, "slow": self.slow}, condition="route")

    @step
    def fast(self):
        self.speed = 10
        self.next(self.after)

    @step
    def slow(self):
        self.speed = 1
        self.next(self.after)

    @step
    def after(self):
        self.report = f"{self.route}:{self.speed}"
        self.next(self.end)

    @step
    def end(self):
        self.final = self.report.upper()


if __name__ == "__main__":
    SwitchFlow()
