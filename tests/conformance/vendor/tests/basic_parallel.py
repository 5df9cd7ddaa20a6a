# Vendored from Netflix/metaflow, test/core/tests/basic_parallel.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

from metaflow_test import MetaflowTest, ExpectationFailed, steps, tag


class BasicParallelTest(MetaflowTest):
    PRIORITY = 1
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

    @steps(0, ["parallel-split"], required=True)
    def split(self):
        self.my_node_index = None

    @steps(0, ["parallel-step"], required=True)
    def inner(self):
        from metaflow import current

        assert_equals(4, current.parallel.num_nodes)
        self.my_node_index = current.parallel.node_index
        assert_equals(self.my_node_index, self.input)

    @steps(0, ["join"], required=True)
    def join(self, inputs):
        got = sorted([inp.my_node_index for inp in inputs])
        assert_equals(list(range(4)), got)

    @steps(1, ["all"])
    def step_all(self):
        pass

    def check_results(self, flow, checker):
        run = checker.get_run()
        if type(checker).__name__ == "CliCheck":
            # CliCheck doesn't support enlisting of tasks.
            assert run is None
        else:
            assert run is not None
            tasks = run["parallel_inner"].tasks()
            task_list = list(tasks)
            assert_equals(4, len(task_list))
            assert_equals(1, len(list(run["parallel_inner"].control_tasks())))
