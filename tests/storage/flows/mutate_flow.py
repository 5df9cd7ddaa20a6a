"""A step that changes a loaded artifact in place and one that only reads another: the first
must be stored again under a new hash, the second must keep its ref."""

from flowassets import FlowSpec, step


class MutateFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.table = {"rows": list(range(2000))}
        self.next(self.change)

    @step
    def change(self):
        self.items.append(4)  # in place: no assignment
        self.seen = len(self.table["rows"])  # read only
        self.next(self.end)

    @step
    def end(self):
        pass
