"""``risky`` always raises: the run fails as written, and succeeds with ``--with catch:var=err``."""

from flowassets import FlowSpec, step


class RaisingFlow(FlowSpec):
    @step
    def start(self):
        self.rows = 3
        self.next(self.risky)

    @step
    def risky(self):
        self.before = "set before the error"
        raise ValueError(f"{self.rows} rows are bad")
        self.next(self.end)

    @step
    def end(self):
        self.seen = (self.err.type, self.err.message) if self.err else None
