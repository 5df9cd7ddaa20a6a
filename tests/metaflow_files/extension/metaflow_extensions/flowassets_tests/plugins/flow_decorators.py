"""Flow decorators of the test extension package.

``@greeting_option`` only needs ``options`` and ``flow_init`` (as Metaflow's own test
extension's ``@test_flow_decorator``): its value comes from ``--greeting`` or the
``METAFLOW_GREETING`` variable and lands in ``current``; like Metaflow's @project it hands
``--greeting`` to the task processes (``get_top_level_options``) but not ``--repeat``. ``@audit_steps`` uses Metaflow's
``flow_init_ctx`` variant, which reads Metaflow's runtime context (``self.system_ctx``), so
flowassets refuses it at build time.
"""

from metaflow import current
from metaflow.decorators import FlowDecorator


class GreetingOption(FlowDecorator):
    name = "greeting_option"
    options = {
        "greeting": dict(default="hello", show_default=True, help="Greeting for every step"),
        "repeat": dict(default=1, type=int, help="How many times"),
    }

    def flow_init(self, flow, graph, environment, flow_datastore, metadata, logger, echo,
                  options):
        self._greeting = options["greeting"]
        current._update_env({"greeting": " ".join([options["greeting"]] * options["repeat"]),
                             "greeting_steps": sorted(node.name for node in graph)})

    def get_top_level_options(self):
        return [("greeting", self._greeting)]


class AuditSteps(FlowDecorator):
    name = "audit_steps"

    def flow_init_ctx(self, options):
        print("audited by Metaflow's runtime")
