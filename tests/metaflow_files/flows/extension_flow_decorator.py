from metaflow import FlowSpec, current, greeting_option, step


@greeting_option
class GreetingFlow(FlowSpec):
    """Each task reads what the extension's flow_init put in ``current``."""

    @step
    def start(self):
        self.greeting = current.greeting
        self.steps = current.greeting_steps
        self.items = [1, 2]
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.greeting = "%s %d" % (current.greeting, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.greetings = sorted(i.greeting for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.final = current.greeting


if __name__ == "__main__":
    GreetingFlow()
