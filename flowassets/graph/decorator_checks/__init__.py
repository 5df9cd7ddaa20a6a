"""Decorator values checked when the graph is built, before anything runs.

They live at the graph level because ``graph.build`` rejects a bad value naming flow, step and
parameter, and the graph must not import the compute layer above it. The compute mappings
(``compute/kubernetes.py``: where a parameter becomes a pod field; ``compute/batch.py``: where
it becomes an ECS field) import these rules downwards. Modules: ``steps_and_flow`` (the table of
which rule checks which argument, and the per-step and per-flow checks), ``values`` (numbers,
booleans, choices), ``kubernetes_values`` (the API server's rules), ``batch_values`` (ECS limits).
"""
