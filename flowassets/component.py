"""``flowassets.FlowComponent``: a flow file in a ``dg`` project, as a job (or as assets).

    # defs/my_flow/defs.yaml
    type: flowassets.FlowComponent
    attributes:
      path: flows/my_flow.py        # from the project root (or from this folder)
      artifacts: [model, summary]   # optional: also expose these artifacts as assets
      partitions:                   # optional: one run per day, its key as Parameter `date`
        daily: 2026-01-01           # or {start_date: 2026-01-01, end_offset: 1}, static: [...]
        parameter: date

Scaffold one with ``dg scaffold defs flowassets.FlowComponent my_flow --path flows/my_flow.py``
(a starter flow is written there when the file does not exist yet). Modelled on dagster-dbt's
``DbtProjectComponent``: the attributes say what to load, ``get_translator`` and
``build_flow_defs`` are the hooks a subclass overrides.
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import dagster as dg
from dagster.components import Scaffolder, ScaffoldRequest, scaffold_with
from dagster.components.component_scaffolding import scaffold_component
from pydantic import BaseModel

from .errors import FlowassetsError

STARTER_FLOW = '''\
"""A starter flow: edit the steps, then `dg list defs` shows it as a job."""

from flowassets import FlowSpec, Parameter, step


class {name}(FlowSpec):
    greeting = Parameter("greeting", default="hello", help="what to say")

    @step
    def start(self):
        self.names = ["ada", "grace"]
        self.next(self.greet, foreach="names")

    @step
    def greet(self):
        self.message = f"{{self.greeting}}, {{self.input}}!"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.messages = sorted(i.message for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(self.messages)
'''


class FlowScaffoldParams(BaseModel):
    path: Optional[str] = None  # the flow file, relative to the project root
    flow: Optional[str] = None  # class name, when the file defines several (and for a new file)


class FlowComponentScaffolder(Scaffolder[FlowScaffoldParams]):
    """Writes defs.yaml pointing at the flow file, and a starter flow if there is none."""

    @classmethod
    def get_scaffold_params(cls) -> type[FlowScaffoldParams]:
        return FlowScaffoldParams

    def scaffold(self, request: ScaffoldRequest[FlowScaffoldParams]) -> None:
        root = Path(request.project_root or Path.cwd())
        params = request.params
        if params.path:
            target, attribute = root / params.path, params.path
        else:
            target, attribute = request.target_path / "flow.py", "flow.py"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(STARTER_FLOW.format(name=params.flow or "StarterFlow"))
        attributes: dict[str, Any] = {"path": attribute}
        if params.flow:
            attributes["flow"] = params.flow
        scaffold_component(request, attributes)


@functools.lru_cache(maxsize=None)
def _shared_resources(datastore: str | None, sysroot: str | None) -> dict[str, Any]:
    """One set of resource objects per store: Definitions.merge refuses two different objects
    under one key, and a project may hold many FlowComponents."""
    from .storage.io_manager import ArtifactStoreResource
    from .translate.job import _resources

    return _resources({"flowassets_store": ArtifactStoreResource(datastore=datastore, sysroot=sysroot)})


@scaffold_with(FlowComponentScaffolder)
@dataclass
class FlowComponent(dg.Component, dg.Resolvable):
    """Flows of one file as Dagster jobs, one op per step; optionally artifacts as assets.

    Attributes:
        path: the flow file, relative to the project root or to this component's folder.
        flow: the FlowSpec class to load when the file defines several (default: all of them).
        job_name_prefix: put before each job name (FlowTranslatorSettings.job_name_prefix).
        with_decorators: step decorators added to every step that lacks them, as Metaflow's
            ``--with``: ``["retry", "catch:var=err", "kubernetes:cpu=2,memory=8000"]``.
        with_kubernetes: @kubernetes arguments applied to every step (``{}`` for the defaults);
            the same as ``with_decorators: ["kubernetes:..."]``, kept for existing YAML.
        artifacts: also expose these artifacts as assets (``flow_to_assets``); the flow's job is
            then the asset job that materializes them. ``["*"]`` for every artifact.
        asset_key_prefix: asset key prefix for those assets (default: the flow's name).
        group_name: asset group for those assets.
        datastore / sysroot: where artifacts live (default: FLOWASSETS_DATASTORE, local).
        configs: Config name -> value to build the jobs with (default: each flow's defaults);
            configs shape a job (decorator arguments), so they are fixed here, not per run.
        partitions: partition the jobs (and assets), as ``@partitioned`` does in a flow file:
            ``parameter`` (the Parameter each key becomes) and one of daily/hourly/weekly/
            monthly (a start date, or the Dagster class's arguments), static (keys) or dynamic
            (a name); end and timezone go with the time-based ones. Default: each flow's own.
    """

    path: str
    flow: Optional[str] = None
    job_name_prefix: str = ""
    with_decorators: Optional[list[str]] = None
    with_kubernetes: Optional[dict[str, Any]] = None
    artifacts: Optional[list[str]] = None
    asset_key_prefix: Optional[list[str]] = None
    group_name: Optional[str] = None
    datastore: Optional[str] = None
    sysroot: Optional[str] = None
    configs: Optional[dict[str, Any]] = None
    partitions: Optional[dict[str, Any]] = None

    def flow_file(self, context: dg.ComponentLoadContext) -> Path:
        given = Path(self.path)
        if given.is_absolute():
            candidates = [given]
        else:
            candidates = [Path(context.project_root) / given, Path(context.path) / given]
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        raise FlowassetsError(f"FlowComponent at {context.path}: flow file {self.path!r} not found "
                              f"(looked at {', '.join(str(c) for c in candidates)}).")

    def get_translator(self) -> Any:
        """Override to use your own FlowTranslator subclass (hooks per job/op decision)."""
        from .translate.translator import FlowTranslator, FlowTranslatorSettings

        return FlowTranslator(FlowTranslatorSettings(job_name_prefix=self.job_name_prefix,
                                                     with_decorators=self.with_decorators or (),
                                                     with_kubernetes=self.with_kubernetes,
                                                     configs=self.configs,
                                                     partitions_def=self.partitions))

    def load_flows(self, context: dg.ComponentLoadContext) -> list[type]:
        from .authoring.loader import flow_classes, import_file, load_flow_class

        path = str(self.flow_file(context))
        if self.flow:
            return [load_flow_class(path, self.flow)]
        flows = flow_classes(import_file(path))
        if not flows:
            raise FlowassetsError(f"FlowComponent at {context.path}: {path} defines no FlowSpec class.")
        return flows

    def build_flow_defs(self, flows: list[type], resources: dict[str, Any]) -> dg.Definitions:
        """The flows as jobs, or (with ``artifacts``) as assets plus the job that runs them."""
        from .translate.assets import flow_to_assets
        from .translate.job import build_definitions

        translator = self.get_translator()
        store = {"flowassets_store": resources["flowassets_store"]}  # the jobs' own resources too
        if self.artifacts is None:
            defs = build_definitions(flows, translator, **store)
        else:
            names = None if self.artifacts == ["*"] else list(self.artifacts)
            assets = [flow_to_assets(f, names, translator, key_prefix=self.asset_key_prefix,
                                     group_name=self.group_name) for f in flows]
            defs = build_definitions([], translator, assets=assets, **store)
        return dg.Definitions(jobs=defs.jobs, assets=defs.assets, schedules=defs.schedules,
                              sensors=defs.sensors, resources=resources)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.build_flow_defs(self.load_flows(context),
                                    _shared_resources(self.datastore, self.sysroot))


__all__ = ["FlowComponent", "FlowComponentScaffolder", "FlowScaffoldParams"]
