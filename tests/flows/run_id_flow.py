"""Reads the --run-id-file from inside its first step: Metaflow writes it before any step runs."""

from flowassets import FlowSpec, Parameter, current, step


class RunIdFlow(FlowSpec):
    path = Parameter("path", default="rid.txt")

    @step
    def start(self):
        with open(self.path) as handle:
            self.seen = handle.read()
        self.own = current.run_id
        self.next(self.end)

    @step
    def end(self):
        pass
