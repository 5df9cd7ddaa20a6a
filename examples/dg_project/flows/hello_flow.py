"""The flow behind the example project's job: a foreach and a join."""

from flowassets import FlowSpec, Parameter, step


class GreetingsFlow(FlowSpec):
    """Greets a few people in parallel and keeps the longest greeting."""

    greeting = Parameter("greeting", default="hello", help="what to say")

    @step
    def start(self):
        self.names = ["ada", "margaret", "linus"]
        self.next(self.greet, foreach="names")

    @step
    def greet(self):
        self.message = f"{self.greeting}, {self.input}!"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.longest = max((i.message for i in inputs), key=len)
        self.next(self.end)

    @step
    def end(self):
        print(self.longest)
