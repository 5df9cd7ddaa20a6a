"""Foreach nested three levels deep (Dagster alone cannot nest dynamic mapping)."""

from flowassets import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    """A grid search: models x learning rates x seeds."""

    @step
    def start(self):
        self.models = ["linear", "tree"]
        self.next(self.per_model, foreach="models")

    @step
    def per_model(self):
        self.model = self.input
        self.rates = [0.1, 0.01]
        self.next(self.per_rate, foreach="rates")

    @step
    def per_rate(self):
        self.rate = self.input
        self.seeds = [1, 2, 3]
        self.next(self.train, foreach="seeds")

    @step
    def train(self):
        self.score = round(len(self.model) * self.rate * self.input, 4)
        self.next(self.join_seeds)

    @step
    def join_seeds(self, inputs):
        self.mean = round(sum(i.score for i in inputs) / 3, 4)
        self.rate = inputs[0].rate
        self.model = inputs[0].model
        self.next(self.join_rates)

    @step
    def join_rates(self, inputs):
        self.best_rate = max(inputs, key=lambda i: i.mean).rate
        self.model = inputs[0].model
        self.next(self.join_models)

    @step
    def join_models(self, inputs):
        self.best = sorted((i.model, i.best_rate) for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("best rate per model:", self.best)


if __name__ == "__main__":
    NestedForeachFlow()
