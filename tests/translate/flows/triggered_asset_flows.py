"""Asset-backed flows with flow-level triggers: a scheduled one and one that runs after it."""

from flowassets import FlowSpec, schedule, step, trigger_on_finish


@schedule(cron="15 4 * * *", timezone="Europe/Paris")
class DailyTableFlow(FlowSpec):
    @step
    def start(self):
        self.table = [3, 1, 2]
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.table)


@trigger_on_finish(flow="DailyTableFlow")
class TableReportFlow(FlowSpec):
    @step
    def start(self):
        self.report = "made after DailyTableFlow"
        self.next(self.end)

    @step
    def end(self):
        pass
