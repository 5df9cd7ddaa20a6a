"""Metaflow extension shipped with flowassets: Metaflow's own client over flowassets runs.

Opt in with ``METAFLOW_DEFAULT_METADATA=flowassets`` (flowassets tasks select it themselves);
then ``from metaflow import Flow, Run, Step, Task, namespace`` lists and reads the runs in the
Dagster instance at DAGSTER_HOME, their artifacts from flowassets' store. Loaded by Metaflow
whenever it is imported: the classes named here import flowassets only when first used.
"""

METADATA_PROVIDERS_DESC = [("flowassets", ".metadata.FlowassetsMetadataProvider")]
DATASTORES_DESC = [("flowassets", ".storage.FlowassetsStorage")]
ARTIFACT_SERIALIZERS_DESC = [("flowassets_columnar", ".serializer.FlowassetsColumnarSerializer")]
