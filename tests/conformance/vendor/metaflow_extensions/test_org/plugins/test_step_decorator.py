# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/plugins/test_step_decorator.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

from metaflow.decorators import StepDecorator


class TestStepDecorator(StepDecorator):
    name = "test_step_decorator"

    def task_post_step(
        self, step_name, flow, graph, retry_count, max_user_code_retries
    ):
        flow.plugin_set_value = step_name
