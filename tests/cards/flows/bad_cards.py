"""Flows whose @card values are refused when the job is built (each names flow, step, value)."""

from flowassets import FlowSpec, card, retry, step


class BadCardTypeFlow(FlowSpec):
    @card(type="my card")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadCardOptionsFlow(FlowSpec):
    @card(options="wide")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class BadCardArgumentFlow(FlowSpec):
    @card(colour="red")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class TwoCardsTwoRetriesFlow(FlowSpec):
    """Several @card on a step are fine (Metaflow's allow_multiple); two @retry are not."""

    @card(id="a")
    @card(id="b")
    @retry
    @retry
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
