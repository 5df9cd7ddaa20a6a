"""Reads artifacts flowassets kept as Parquet (pandas DataFrames, Arrow tables).

Pickled artifacts are labelled ``pickle-v4`` and read by Metaflow's own pickle serializer; a
columnar one is labelled ``flowassets+<encoding>`` and decoded here with flowassets' own code.
It never writes: Metaflow's runtime does not run over flowassets' store.
"""

from metaflow.datastore.artifacts.serializer import ArtifactSerializer, SerializationFormat

PREFIX = "flowassets+"


class FlowassetsColumnarSerializer(ArtifactSerializer):
    TYPE = "flowassets_columnar"
    PRIORITY = 100

    @classmethod
    def can_serialize(cls, obj):
        return False

    @classmethod
    def can_deserialize(cls, metadata):
        return metadata.encoding.startswith(PREFIX)

    @classmethod
    def serialize(cls, obj, format=SerializationFormat.STORAGE):
        raise NotImplementedError("flowassets artifacts are written by flowassets, not Metaflow")

    @classmethod
    def deserialize(cls, data, metadata=None, format=SerializationFormat.STORAGE):
        from flowassets.storage import serialize

        return serialize.decode(data[0], metadata.encoding[len(PREFIX):])
