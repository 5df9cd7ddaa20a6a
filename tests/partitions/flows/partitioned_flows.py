"""Partitioned flows: one shape each (the partitions in the file, or given by the caller)."""

from flowassets import FlowSpec, Parameter, partitioned, schedule, step


class DayFlow(FlowSpec):
    """A day's numbers, summed per day: the base of the partitioned flows below."""

    date = Parameter("date", help="the day to process (YYYY-MM-DD)")
    scale = Parameter("scale", type=int, default=1)

    @step
    def start(self):
        self.day_of_month = int(self.date[-2:])
        self.numbers = [self.day_of_month * i for i in range(1, 4)]
        self.next(self.double, foreach="numbers")

    @step
    def double(self):
        self.doubled = 2 * self.input * self.scale
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.doubled for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.label = f"{self.date}: {self.total}"


@partitioned(daily="2026-01-01", parameter="date")
class DailyFlow(DayFlow):
    """DayFlow, one partition per day from 2026-01-01."""


@schedule
@partitioned(daily="2026-01-01", parameter="date", timezone="Europe/Berlin")
class ScheduledDailyFlow(DayFlow):
    """Each day's tick runs the day that just ended."""


@schedule(cron="0 6 * * *")
@partitioned(static=["3", "5", "7"], parameter="size")
class SizedFlow(FlowSpec):
    """Static partitions onto an int Parameter; the schedule runs the last key."""

    size = Parameter("size", type=int, default=1)

    @step
    def start(self):
        self.squares = [i * i for i in range(self.size)]
        self.next(self.end)

    @step
    def end(self):
        pass


@partitioned(static=["2026-01-02", "2026-01-03"], parameter="date")
class FragileDayFlow(DayFlow):
    """DayFlow whose end step fails while FRAGILE_FAIL is set: resumed as the same partition."""

    @step
    def end(self):
        import os

        if os.environ.get("FRAGILE_FAIL"):
            raise RuntimeError("end failed on purpose")
        self.label = f"{self.date}: {self.total}"
