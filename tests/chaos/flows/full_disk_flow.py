"""A foreach whose tasks write artifacts; the one at index ``big_index`` writes ``big_mb`` MB.

The bytes are pseudo-random from a fixed seed per task: incompressible, yet the same in every
run, so an interrupted-then-resumed run and an uninterrupted one must end with equal artifacts.
"""

import hashlib
import random

from flowassets import FlowSpec, Parameter, step


class FullDiskFlow(FlowSpec):
    big_mb = Parameter("big_mb", type=int, default=12, help="size of the big task's artifact")
    big_index = Parameter("big_index", type=int, default=2)

    @step
    def start(self):
        self.shards = [0, 1, 2, 3]
        self.next(self.write, foreach="shards")

    @step
    def write(self):
        size = (self.big_mb << 20) if self.input == self.big_index else (256 << 10)
        self.payload = random.Random(1000 + self.input).randbytes(size)
        self.shard = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sizes = {i.shard: len(i.payload) for i in inputs}
        self.digests = {i.shard: hashlib.sha256(i.payload).hexdigest() for i in inputs}
        self.big = max((i.payload for i in inputs), key=len)
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.sizes.values())
