"""Every task of ``start`` and of the foreach body ``work`` fails on its first attempt; ``keep``
has its own ``@retry(times=0)`` and fails on its first attempt too unless $KEEP_OK is set.

So the flow fails as written, succeeds with ``--with retry``, and shows which decorator a step
with its own @retry keeps under ``--with retry:times=3`` (its own, as in Metaflow)."""

import os

from flowassets import FlowSpec, current, retry, step


class FlakyFirstAttemptFlow(FlowSpec):
    @step
    def start(self):
        self.start_attempt = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError("start fails on its first attempt")
        self.items = [1, 2, 3]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.attempt = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError(f"work {self.input} fails on its first attempt")
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = sorted(i.square for i in inputs)
        self.next(self.keep)

    @retry(times=0)
    @step
    def keep(self):
        self.keep_attempt = current.retry_count
        if current.retry_count == 0 and not os.environ.get("KEEP_OK"):
            raise RuntimeError("keep fails on its first attempt")
        self.next(self.end)

    @step
    def end(self):
        self.done = True
        self.env_seen = os.environ.get("FLAKY_ENV")  # set by --with environment:vars=...


if __name__ == "__main__":
    FlakyFirstAttemptFlow()
