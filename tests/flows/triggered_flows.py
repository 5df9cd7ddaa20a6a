from flowassets import FlowSpec, project, schedule, step, trigger_on_finish


@schedule(cron="30 6 * * 1-5", timezone="Europe/Berlin")
class NightlyFlow(FlowSpec):
    @step
    def start(self):
        self.made = "nightly"
        self.next(self.end)

    @step
    def end(self):
        pass


@project(name="analytics")
@trigger_on_finish(flow="NightlyFlow")
class ReportFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


@schedule(hourly=True)
class HourlyFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
