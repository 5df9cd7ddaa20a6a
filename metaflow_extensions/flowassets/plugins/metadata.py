"""``METAFLOW_DEFAULT_METADATA=flowassets``: Metaflow's client reads flowassets runs.

A read-only metadata provider: flows, runs, steps, tasks, artifacts and task metadata come from
flowassets' client over the Dagster instance (DAGSTER_HOME, or the INFO given as
``metaflow.metadata("flowassets@/path/to/dagster_home")``); artifact values and logs from the
run's flowassets store through ``FlowassetsStorage``. Run tags can be changed (they are Dagster
run tags). Metaflow's own runtime cannot write here: run flows with ``flowassets run``.
"""

import os

from metaflow.exception import MetaflowException, MetaflowInternalError, MetaflowTaggingError
from metaflow.metadata_provider import MetadataProvider

_instances = {}


class FlowassetsMetadataProvider(MetadataProvider):
    TYPE = "flowassets"

    def __init__(self, environment, flow, event_logger, monitor):
        raise MetaflowException(
            "The flowassets metadata provider only reads runs made by flowassets: run flow %s "
            "with `flowassets run FLOW_FILE`, or unset METAFLOW_DEFAULT_METADATA to run it with "
            "Metaflow's own runtime." % getattr(flow, "name", "?"))

    @classmethod
    def compute_info(cls, val):
        return os.path.abspath(val)

    @classmethod
    def default_info(cls):
        from flowassets.client.instance import default_dagster_home

        return default_dagster_home()

    def version(self):
        return "flowassets"

    @classmethod
    def instance(cls):
        """The Dagster instance at INFO, opened once per process and home (reading only)."""
        from flowassets.client.instance import default_dagster_home
        from flowassets.client.reopen import reading_instance

        home = cls.INFO
        if home == default_dagster_home():
            return reading_instance()
        key = (os.getpid(), home)
        if key not in _instances:
            from dagster import DagsterInstance

            if not os.path.isdir(home):
                raise MetaflowException("flowassets metadata: %s is not a Dagster home" % home)
            _instances[key] = DagsterInstance.from_config(home)
        return _instances[key]

    @classmethod
    def _get_object_internal(cls, obj_type, obj_order, sub_type, sub_order, filters, attempt,
                             *args):
        from .objects import LEVELS, Objects

        objects = Objects(cls.instance())
        if obj_type == "artifact":  # one artifact: among its task's
            task = objects.locate(tuple(args[:4]))
            if task is None:
                return None
            found = [a for a in objects.artifacts(task, attempt) if a["name"] == args[4]]
            return found[0] if found else None
        if obj_type not in LEVELS:
            raise MetaflowInternalError(msg="Unexpected object type %s" % obj_type)
        obj = objects.locate(tuple(args[:obj_order]))
        if sub_type == "self":
            return None if obj is None else objects.as_dict(obj, obj_type)
        if sub_type == "metadata":
            return [] if obj is None else objects.metadata(obj)
        if obj is None:
            return []
        if sub_type == "artifact" and obj_type == "task":
            return MetadataProvider._apply_filter(objects.artifacts(obj, attempt), filters)
        found = [objects.as_dict(o, sub_type) for o in objects.below(obj, obj_type, sub_type)]
        return MetadataProvider._apply_filter(found, filters)

    @classmethod
    def _mutate_user_tags_for_run(cls, flow_id, run_id, tags_to_add=None, tags_to_remove=None):
        from flowassets.client import Flow
        from flowassets.errors import ClientError, FlowassetsError

        try:
            run = Flow(flow_id, cls.instance())[run_id]
        except (ClientError, KeyError):
            raise MetaflowTaggingError(msg="Run not found (%s, %s)" % (flow_id, run_id))
        try:
            return run.replace_tags(list(tags_to_remove or []), list(tags_to_add or []))
        except FlowassetsError as exc:
            raise MetaflowTaggingError(msg=str(exc))

    @classmethod
    def filter_tasks_by_metadata(cls, flow_name, run_id, step_name, field_name, pattern):
        import re

        tasks = cls.get_object("step", "task", {}, None, flow_name, run_id, step_name) or []
        regex = re.compile(pattern)
        found = []
        for task in tasks:
            meta = cls.get_object("task", "metadata", {}, None, flow_name, run_id, step_name,
                                  task["task_id"])
            if pattern == ".*" or any(m["field_name"] == field_name and regex.match(m["value"])
                                      for m in meta):
                found.append("%s/%s/%s/%s" % (flow_name, run_id, step_name, task["task_id"]))
        return found
