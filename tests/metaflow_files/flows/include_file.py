"""IncludeFile as Metaflow's docs use it: a CSV read when the run starts, as text and as bytes."""

from metaflow import FlowSpec, IncludeFile, step


class IncludeFlow(FlowSpec):
    table = IncludeFile("table", required=True, help="a small CSV")
    raw = IncludeFile("raw", is_text=False, required=True)

    @step
    def start(self):
        self.rows = [line.split(",") for line in self.table.splitlines()]
        self.next(self.count, foreach="rows")

    @step
    def count(self):
        self.label = self.input[0]
        self.seen = self.table.count("\n")  # every task sees the same contents
        self.next(self.join)

    @step
    def join(self, inputs):
        self.names = sorted(i.label for i in inputs)
        self.size = len(self.raw)
        self.next(self.end)

    @step
    def end(self):
        print(self.names, self.size, type(self.raw).__name__)


if __name__ == "__main__":
    IncludeFlow()
