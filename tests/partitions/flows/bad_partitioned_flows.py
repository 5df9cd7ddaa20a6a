"""Partitioned flows that cannot be built: one mistake each (tests/partitions/test_build_errors.py)."""

from flowassets import FlowSpec, JSONType, Parameter, partitioned, schedule, step


class TwoStepFlow(FlowSpec):
    """The smallest flow, with one Parameter of each type a partition key might be mapped onto."""

    date = Parameter("date", default="2026-01-01")
    count = Parameter("count", type=int, default=1)
    flag = Parameter("flag", type=bool, default=False)
    spec = Parameter("spec", type=JSONType, default="{}")

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


@partitioned(daily="2026-01-01", parameter="day")
class UnknownParameterFlow(TwoStepFlow):
    pass


@partitioned(daily="2026-01-01")
class NoParameterFlow(TwoStepFlow):
    pass


@partitioned(daily="2026-01-01", static=["a"], parameter="date")
class TwoKindsFlow(TwoStepFlow):
    pass


@partitioned(daily="the first of May", parameter="date")
class BadStartFlow(TwoStepFlow):
    pass


@partitioned(weekly="2026-01-01", parameter="count")
class IntDatesFlow(TwoStepFlow):
    pass


@schedule(cron="0 6 * * *")
@partitioned(daily="2026-01-01", parameter="date")
class CronOnDailyFlow(TwoStepFlow):
    pass


@schedule
@partitioned(dynamic="days", parameter="date")
class ScheduledDynamicFlow(TwoStepFlow):
    pass
