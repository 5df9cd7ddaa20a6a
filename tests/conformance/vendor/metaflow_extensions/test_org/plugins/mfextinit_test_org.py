# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/plugins/mfextinit_test_org.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

STEP_DECORATORS_DESC = [
    ("test_step_decorator", ".test_step_decorator.TestStepDecorator"),
]

FLOW_DECORATORS_DESC = [
    ("test_flow_decorator", ".flow_options.FlowDecoratorWithOptions"),
]

__mf_promote_submodules__ = ["nondecoplugin", "frameworks"]
