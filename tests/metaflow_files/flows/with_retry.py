"""A Metaflow flow whose start step and foreach body fail on their first attempt: it fails as
written and succeeds with ``--with retry:minutes_between_retries=0``, under Metaflow and
flowassets alike. ``steady`` has its own ``@retry(times=1)``, which ``--with`` leaves alone."""

from metaflow import FlowSpec, current, retry, step


class WithRetryFlow(FlowSpec):
    @step
    def start(self):
        self.start_attempt = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError("start fails on its first attempt")
        self.items = ["a", "bb", "ccc"]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.attempt = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError("work fails on its first attempt")
        self.size = len(self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sizes = sorted(i.size for i in inputs)
        self.attempts = sorted(i.attempt for i in inputs)
        self.next(self.steady)

    @retry(times=1, minutes_between_retries=0)
    @step
    def steady(self):
        self.steady_attempt = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError("steady fails on its first attempt")
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.sizes)


if __name__ == "__main__":
    WithRetryFlow()
