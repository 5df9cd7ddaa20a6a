"""Dagster resources for the artifact store and the IO manager that passes step manifests.

Artifact values never travel through Dagster: each op writes blobs to the store itself and
hands the next op only its small ``StepResult``. The IO manager persists that manifest in the
store, which is also where the client and Dagster re-execution read it back.
"""

from typing import Optional

import dagster as dg

from ..errors import ArtifactNotFound
from . import select
from .artifacts import ArtifactStore
from .backend import Backend
from .manifest import StepResult

FLOW_METADATA_KEY = "flowassets/flow"


class ArtifactStoreResource(dg.ConfigurableResource):
    """Where artifacts live. Unset fields fall back to FLOWASSETS_DATASTORE / _SYSROOT_* where
    the step runs (so a pod reads its own environment)."""

    datastore: Optional[str] = None
    sysroot: Optional[str] = None

    def backend(self) -> Backend:
        return select.open_backend(self.datastore, self.sysroot)

    def location(self) -> str:
        return select.location(self.datastore, self.sysroot)

    def for_flow(self, flow_name: str) -> ArtifactStore:
        return ArtifactStore(self.backend(), flow_name)


class FlowManifestIOManager(dg.ConfigurableIOManager):
    """Stores each step's ``StepResult`` (task manifests) next to the artifacts."""

    store: ArtifactStoreResource

    def _store_of(self, context: dg.OutputContext | dg.InputContext) -> ArtifactStoreResource:
        """The run's own ``flowassets_store`` (which the ops write blobs to), not the copy nested
        here: Dagster does not apply run config of a top-level resource to a nested instance,
        so with ``flowassets run --datastore s3`` (run config) the nested copy still said
        "env default" and manifests went to another store than the blobs."""
        try:
            return context.step_context.resources.flowassets_store
        except (dg.DagsterInvariantViolationError, AttributeError):  # outside a step
            return self.store

    def handle_output(self, context: dg.OutputContext, obj: StepResult) -> None:
        if obj is None:
            return
        store = self._store_of(context).for_flow(obj.flow)
        # A switch yields the same result on each chosen branch; write it once.
        if context.name == "result" or not store.has_step(obj.run_id, obj.step):
            store.save_step(obj)

    def load_input(self, context: dg.InputContext) -> StepResult:
        upstream = context.upstream_output
        assert upstream is not None
        flow = (upstream.definition_metadata or {}).get(FLOW_METADATA_KEY)
        # Inside a graph-backed asset (``flow_to_assets``) step keys are "<Flow>.<step>".
        step = upstream.step_key.rsplit(".", 1)[-1]
        store = self._store_of(context).for_flow(flow)
        try:
            return store.load_step(upstream.run_id, step)
        except ArtifactNotFound as exc:
            raise dg.Failure(f"step {step!r} of run {upstream.run_id}: {exc}") from None
