# Vendored from Netflix/metaflow, test/core/tests/card_error.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

# Todo : Write Test case on graceful error handling.
from metaflow_test import MetaflowTest, ExpectationFailed, steps, tag


class CardErrorTest(MetaflowTest):
    """
    Test that checks if the card decorator handles Errors gracefully.
    In the checker assert that the end step finished and has artifacts after failing
    to create the card on the start step.
    """

    PRIORITY = 2
    SKIP_GRAPHS = [
        "simple_switch",
        "nested_switch",
        "branch_in_switch",
        "foreach_in_switch",
        "switch_in_branch",
        "switch_in_foreach",
        "recursive_switch",
        "recursive_switch_inside_foreach",
    ]

    @tag('card(type="test_error_card")')
    @steps(0, ["start"])
    def step_start(self):
        self.data = "abc"

    @steps(1, ["all"])
    def step_all(self):
        self.data = "end"

    def check_results(self, flow, checker):
        checker.assert_artifact("end", "data", "end")
