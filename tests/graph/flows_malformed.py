"""One malformed flow per class; this module must import cleanly (nothing is checked at import).
``CASES`` lists (flow, problem code, step the message must name or None). Steps marked
``# <- here`` are where the problem is reported."""

from flowassets import FlowSpec, Parameter, step


class NoStart(FlowSpec):
    @step
    def begin(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class NoEnd(FlowSpec):
    @step
    def start(self):
        self.next(self.finish)

    @step
    def finish(self):
        pass


class EndWithNext(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):  # <- here
        self.next(self.start)


class MissingNext(FlowSpec):
    @step
    def start(self):  # <- here
        self.x = 1

    @step
    def end(self):
        pass


class Unreachable(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def orphan(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class Cycle(FlowSpec):
    @step
    def start(self):
        self.next(self.a)

    @step
    def a(self):
        self.next(self.b)

    @step
    def b(self):
        self.next(self.a)

    @step
    def end(self):
        pass


class JoinWithoutInputs(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class InputsOnNonJoin(FlowSpec):
    @step
    def start(self):
        self.next(self.middle)

    @step
    def middle(self, inputs):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class WrongJoin(FlowSpec):
    """The branches of start's split are joined by two different steps."""

    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.join_a)

    @step
    def b(self):
        self.next(self.join_b)

    @step
    def join_a(self, inputs):
        self.next(self.end)

    @step
    def join_b(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class ForeachJoinAlsoJoinsSplit(FlowSpec):
    """A join that closes a foreach and another split at once (Metaflow refuses it)."""

    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.body, self.other)

    @step
    def body(self):
        self.parts = [1, 2]
        self.next(self.inner, foreach="parts")

    @step
    def inner(self):
        self.next(self.join)

    @step
    def other(self):
        self.next(self.join)

    @step
    def join(self, inputs):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


def helper(self):
    """Not a @step."""


class NextToNonStep(FlowSpec):
    @step
    def start(self):  # <- here
        self.next(self.helper)

    def helper(self):
        pass

    @step
    def end(self):
        pass


class ForeachVarNeverSet(FlowSpec):
    @step
    def start(self):  # <- here
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class TwoNextCalls(FlowSpec):
    @step
    def start(self):
        if True:
            self.next(self.a)
        self.next(self.end)  # <- here

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ReservedStepName(FlowSpec):
    @step
    def start(self):
        self.next(self.input)

    @step
    def input(self):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class NextNotLast(FlowSpec):
    @step
    def start(self):
        self.next(self.end)  # <- here
        self.x = 1

    @step
    def end(self):
        pass


class NextArgumentNotAStep(FlowSpec):
    @step
    def start(self):
        self.next("end")  # <- here

    @step
    def end(self):
        pass


class UnknownNextKeyword(FlowSpec):
    @step
    def start(self):
        self.items = [1]
        self.next(self.end, for_each="items")  # <- here

    @step
    def end(self):
        pass


class SwitchWithOneCase(FlowSpec):
    @step
    def start(self):
        self.mode = "a"
        self.next({"a": self.end}, condition="mode")  # <- here

    @step
    def end(self):
        pass


class SwitchWithoutCondition(FlowSpec):
    @step
    def start(self):
        self.next({"a": self.a, "b": self.end})  # <- here

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class SwitchAndForeach(FlowSpec):
    @step
    def start(self):
        self.items, self.mode = [1], "a"
        self.next({"a": self.a, "b": self.end}, condition="mode", foreach="items")  # <- here

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class SwitchToJoin(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):  # <- here
        self.mode = "x"
        self.next({"x": self.join, "y": self.c}, condition="mode")

    @step
    def c(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class ConditionNeverSet(FlowSpec):
    @step
    def start(self):  # <- here
        self.next({"a": self.a, "b": self.end}, condition="mode")

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ForeachStraightToJoin(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.body, foreach="items")

    @step
    def body(self):  # <- here
        self.parts = [1]
        self.next(self.join, foreach="parts")

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


class JoinThatSplits(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self, inputs):  # <- here
        self.next(self.c, self.d)

    @step
    def c(self):
        self.next(self.end)

    @step
    def d(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class SplitNeverJoined(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.end)

    @step
    def b(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class StartTakesInputs(FlowSpec):
    @step
    def start(self, inputs):  # <- here
        self.next(self.end)

    @step
    def end(self):
        pass


class ExtraStepArgument(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self, inputs, more):  # <- here
        pass


class ParameterShadowsStep(FlowSpec):
    lr = Parameter("train", default=1)

    @step
    def start(self):
        self.next(self.train)

    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ParameterReservedName(FlowSpec):
    next_step = Parameter("next", default=1)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ParameterBadDefault(FlowSpec):
    alpha = Parameter("alpha", type=int, default="lots")

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


class ParameterRequiredWithDefault(FlowSpec):
    alpha = Parameter("alpha", default=1, required=True)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
