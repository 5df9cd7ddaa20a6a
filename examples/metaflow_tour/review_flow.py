"""An unchanged Metaflow file (nothing here imports flowassets): a table to include, a Config
that sizes the work and the pods, and a foreach over the table's rows.

    flowassets run review_flow.py                                  # defaults
    flowassets run review_flow.py --config-value settings '{"cpu": 2, "threshold": 15}'
    python review_flow.py run                                      # the same under Metaflow
"""

from metaflow import Config, FlowSpec, IncludeFile, Parameter, config_expr, resources, step


def min_score_default(ctx):
    """A default computed when the run starts, from the run's configs (Metaflow's ParameterContext)."""
    return ctx.configs.settings.threshold


class ReviewFlow(FlowSpec):
    table = IncludeFile("table", default="scores.csv", help="CSV of name,score")
    settings = Config("settings", default="settings.json")
    min_score = Parameter("min_score", default=min_score_default, type=int)

    @step
    def start(self):
        rows = [line.split(",") for line in self.table.strip().splitlines()[1:]]
        self.rows = [(name, int(score)) for name, score in rows]
        self.next(self.review, foreach="rows")

    @resources(cpu=config_expr("settings.cpu"), memory=512)
    @step
    def review(self):
        name, score = self.input
        self.verdict = (name, score >= self.min_score)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.passed = sorted(i.verdict[0] for i in inputs if i.verdict[1])
        self.total = sum(1 for _ in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(f"{len(self.passed)} of {self.total} passed: {', '.join(self.passed)}")


if __name__ == "__main__":
    ReviewFlow()
