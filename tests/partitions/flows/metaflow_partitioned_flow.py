"""An unchanged-style Metaflow flow (real metaflow classes) with flowassets' @partitioned beside
Metaflow's own @schedule: both are honoured."""

from metaflow import FlowSpec, Parameter, schedule, step
from flowassets import partitioned


@partitioned(daily="2026-01-01", parameter="date")
@schedule(daily=True)
class MetaflowDailyFlow(FlowSpec):
    date = Parameter("date", default="2026-01-01")

    @step
    def start(self):
        self.day = self.date
        self.next(self.end)

    @step
    def end(self):
        pass
