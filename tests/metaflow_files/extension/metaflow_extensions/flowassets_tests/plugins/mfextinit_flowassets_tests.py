"""A Metaflow extension package written as a Metaflow user's organisation writes one: two flow
decorators and two step decorators, loaded by Metaflow and by flowassets' tasks when this directory is on PYTHONPATH
(tests/metaflow_files/test_extension_flow_decorators.py, test_extension_step_decorators.py)."""

FLOW_DECORATORS_DESC = [
    ("greeting_option", ".flow_decorators.GreetingOption"),
    ("audit_steps", ".flow_decorators.AuditSteps"),
]

STEP_DECORATORS_DESC = [
    ("stamped", ".step_decorators.Stamped"),
    ("audit_tasks", ".step_decorators.AuditTasks"),
]
