"""The quick-start flow: a parameter, a static split, a foreach, and a join."""

from flowassets import FlowSpec, Parameter, card, current, step
from flowassets.cards import Markdown, Table


class HelloFlow(FlowSpec):
    """Scores a few greetings in parallel and picks the best one."""

    greeting = Parameter("greeting", default="hello", help="word every message starts with")
    repeat = Parameter("repeat", default=2, type=int, help="how often to repeat it")

    @step
    def start(self):
        """Prepare the names to greet."""
        self.names = ["ada", "grace", "linus", "guido"]
        self.next(self.greet, foreach="names")

    @step
    def greet(self):
        """One task per name (runs in parallel)."""
        self.message = " ".join([self.greeting] * self.repeat) + f", {self.input}!"
        self.score = len(self.message) * (self.index + 1)
        print(self.message)
        self.next(self.pick)

    @card
    @step
    def pick(self, inputs):
        """Join: keep the best-scoring message (and report the scores on a card)."""
        best = max(inputs, key=lambda inp: inp.score)
        self.best = best.message
        self.scores = sorted(inp.score for inp in inputs)
        current.card.append(Markdown(f"## Best message\n**{self.best}**"))
        current.card.append(Table([[inp.message, inp.score] for inp in inputs],
                                  headers=["message", "score"]))
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        print(f"best message: {self.best} (scores {self.scores})")


if __name__ == "__main__":
    HelloFlow()
