# Vendored from Netflix/metaflow, test/core/metaflow_extensions/test_org/plugins/flow_options.py at commit d2dd7f953574369d5b4715822b12377d44ba1cf8.
# Copyright Netflix, Inc. and Metaflow contributors. Licensed under the Apache License,
# Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Unmodified.

from metaflow.decorators import FlowDecorator
from metaflow import current


class FlowDecoratorWithOptions(FlowDecorator):
    name = "test_flow_decorator"

    options = {"foobar": dict(default=None, show_default=False, help="Test flag")}

    def flow_init(
        self, flow, graph, environment, flow_datastore, metadata, logger, echo, options
    ):
        current._update_env({"foobar_value": options["foobar"]})
