"""A Metaflow extension package written as a Metaflow user's organisation writes one: two flow
decorators, loaded by Metaflow and by flowassets' tasks when this directory is on PYTHONPATH
(tests/metaflow_files/test_extension_flow_decorators.py)."""

FLOW_DECORATORS_DESC = [
    ("greeting_option", ".flow_decorators.GreetingOption"),
    ("audit_steps", ".flow_decorators.AuditSteps"),
]
