"""Flow-level decorators written with Metaflow's own @schedule, @project, @trigger_on_finish."""

from metaflow import FlowSpec, project, schedule, step, trigger_on_finish


@schedule(cron="15 4 * * *", timezone="Europe/Paris")
class MetaflowNightlyFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


@project(name="reports")
@trigger_on_finish(flow="MetaflowNightlyFlow")
class MetaflowReportFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
