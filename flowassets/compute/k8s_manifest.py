"""The step's Kubernetes Job built offline, exactly as dagster-k8s's ``K8sStepHandler`` builds it,
and checked against the Kubernetes schema before anything is launched.

dagster-k8s checks the tag's top-level keys and field names, but not types, enums or
quantities, and neither it nor kubernetes-validate checks label values; a typo in a raw
override (a translator subclass adding ``pod_spec_config``) would otherwise surface as a Job
the API server refuses at launch. ``k8s_config_problems`` returns every such problem, naming
flow and step; ``validated_k8s_config`` raises them as one ``DecoratorError``.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..errors import DecoratorError, Problem
from ..graph.decorator_checks.kubernetes_values import label_key_problem, label_value_problem

#: The Kubernetes version whose schema the manifest is checked against (kubernetes-validate
#: picks the newest schema it ships that is not newer than this).
KUBERNETES_VERSION = "1.33"
PLACEHOLDER_IMAGE = "flowassets-validate:placeholder"
_CODE = "kubernetes-invalid-manifest"


def build_step_job(step_tags: Mapping[str, str], *, job_config: Any = None, step_key: str = "step",
                   run_id: str = "00000000-0000-0000-0000-000000000000", job_name: str = "dagster-step-validate") -> Any:
    """The ``V1Job`` dagster-k8s would create for a step with these (string) op tags.

    Mirrors ``K8sStepHandler.launch_step``: ``get_user_defined_k8s_config(step tags)`` and
    ``construct_dagster_k8s_job`` with the step worker's component, labels and environment;
    ``job_config`` stands for what the launcher/executor contribute (a bare default here)."""
    from dagster_k8s.job import DagsterK8sJobConfig, construct_dagster_k8s_job, get_user_defined_k8s_config

    if job_config is None:
        job_config = DagsterK8sJobConfig(job_image=PLACEHOLDER_IMAGE, dagster_home="/opt/dagster/dagster_home",
                                         image_pull_policy="IfNotPresent")
    user_defined = get_user_defined_k8s_config(dict(step_tags))
    return construct_dagster_k8s_job(
        job_config=job_config, args=["dagster", "api", "execute_step"], job_name=job_name,
        pod_name=job_name, component="step_worker", user_defined_k8s_config=user_defined,
        labels={"dagster/job": "validate", "dagster/op": step_key, "dagster/run-id": run_id},
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": "validate"},
                  {"name": "DAGSTER_RUN_STEP_KEY", "value": step_key}],
    )


def job_manifest(job: Any) -> dict[str, Any]:
    """The Job as the API server receives it (camelCase JSON)."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(job)


def k8s_config_problems(flow: str, step: str, k8s_config: Mapping[str, Any]) -> list[Problem]:
    """Every problem with the Job a ``dagster-k8s/config`` value produces."""
    def problem(message: str) -> Problem:
        return Problem(_CODE, flow, message, step,
                       fix="fix the @kubernetes arguments or the translator's get_k8s_config override.")

    try:
        tags = {"dagster-k8s/config": json.dumps(dict(k8s_config))}
    except (TypeError, ValueError) as exc:
        return [problem(f"the dagster-k8s/config value is not JSON-serializable: {exc}")]
    raw = [problem(m) for m in section_problems(k8s_config)]
    if raw:  # dagster-k8s would coerce ("no" -> True) or stop at the first of these
        return raw
    try:
        manifest = job_manifest(build_step_job(tags, step_key=step))
    except Exception as exc:  # noqa: BLE001 - dagster-k8s raises plain Exception for bad keys
        return [problem(f"dagster-k8s cannot build the step's Job from its dagster-k8s/config: {_first_line(exc)}")]
    problems = [problem(m) for m in schema_problems(manifest)]
    problems += [problem(m) for m in semantic_problems(manifest)]
    return problems


def validated_k8s_config(flow: str, step: str, k8s_config: Mapping[str, Any]) -> Mapping[str, Any]:
    problems = k8s_config_problems(flow, step, k8s_config)
    if problems:
        raise DecoratorError(problems)
    return k8s_config


def schema_problems(manifest: Mapping[str, Any]) -> list[str]:
    """kubernetes-validate in strict mode (unknown fields are errors), every error listed."""
    import jsonschema
    import kubernetes_validate

    try:
        kubernetes_validate.validate(dict(manifest), KUBERNETES_VERSION, strict=True)
        return []
    except kubernetes_validate.ValidationError as first:
        errors = [first]
    # validate() stops at the first error; list them all with the same schema for one report.
    try:
        validator = _validator()
        errors = sorted(validator.iter_errors(dict(manifest)), key=lambda e: list(e.absolute_path)) or errors
    except Exception:  # noqa: BLE001 - fall back to the one error validate() gave
        pass
    return [f"Kubernetes schema: {_path(e.absolute_path)}: {e.message}" for e in errors
            if isinstance(e, jsonschema.ValidationError)]


#: Each tag section, the kubernetes client model dagster-k8s reads it as, and its schema definition.
SECTIONS = {
    "container_config": ("V1Container", "io.k8s.api.core.v1.Container"),
    "pod_spec_config": ("V1PodSpec", "io.k8s.api.core.v1.PodSpec"),
    "pod_template_spec_metadata": ("V1ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
    "job_metadata": ("V1ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
    "job_spec_config": ("V1JobSpec", "io.k8s.api.batch.v1.JobSpec"),
    "job_config": ("V1Job", "io.k8s.api.batch.v1.Job"),
}
#: Fields the schema requires that dagster-k8s fills in itself when a section omits them.
_FILLED_BY_DAGSTER = {"container_config": {"name": "dagster"},
                      "pod_spec_config": {"containers": [{"name": "dagster"}]},
                      "job_spec_config": {"template": {}}}


def section_problems(k8s_config: Mapping[str, Any]) -> list[str]:
    """Each section as the user wrote it (snake_case or camelCase, values not yet coerced by
    dagster-k8s) against the strict schema of the object it configures."""
    out: list[str] = []
    for section, (model, definition) in SECTIONS.items():
        value = k8s_config.get(section)
        if not value:
            continue
        if not isinstance(value, Mapping):
            out.append(f"{section} must be a dict, got {value!r}")
            continue
        document = {**_FILLED_BY_DAGSTER.get(section, {}), **camel_case(value, model)}
        validator = _validator().evolve(schema={"$ref": f"/api/_definitions.json#/$defs/{definition}"})
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
            out.append(f"Kubernetes schema: {section}.{_path(error.absolute_path)}: {error.message}"
                       if error.absolute_path else f"Kubernetes schema: {section}: {error.message}")
    return out


def camel_case(value: Any, type_name: str) -> Any:
    """snake_case keys -> the API's camelCase, following the kubernetes client's models; values
    and unknown keys are kept as written so the schema sees exactly what the user wrote."""
    import re

    import kubernetes.client.models as models

    if value is None:
        return None
    listed = re.fullmatch(r"list\[(.*)\]", type_name)
    if listed:
        return [camel_case(v, listed.group(1)) for v in value] if isinstance(value, list) else value
    mapped = re.fullmatch(r"dict\((?:[^,]*), (.*)\)", type_name)
    if mapped:
        return {k: camel_case(v, mapped.group(1)) for k, v in value.items()} if isinstance(value, dict) else value
    model = getattr(models, type_name, None)
    if model is None or not isinstance(value, Mapping):
        return value
    out = {}
    for key, item in value.items():
        attr = key if key in model.attribute_map else next(
            (a for a, camel in model.attribute_map.items() if camel == key), None)
        if attr is None:
            out[key] = item
        else:
            out[model.attribute_map[attr]] = camel_case(item, model.openapi_types[attr])
    return out


def semantic_problems(manifest: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: label syntax, quantities, requests <= limits, volume refs."""
    out: list[str] = []
    spec = manifest.get("spec", {})
    template = spec.get("template", {})
    for where, meta in (("Job", manifest.get("metadata", {})), ("pod", template.get("metadata", {}))):
        for key, value in (meta.get("labels") or {}).items():
            message = label_key_problem(key) or label_value_problem(key, value)
            if message:
                out.append(f"{where} label {message}")
        for key in meta.get("annotations") or {}:
            message = label_key_problem(key)
            if message:
                out.append(f"{where} annotation {message}")
    pod = template.get("spec", {})
    volume_names = [v.get("name") for v in pod.get("volumes") or []]
    for name in {n for n in volume_names if volume_names.count(n) > 1}:
        out.append(f"volume name {name!r} is used twice")
    for container in pod.get("containers") or []:
        out += _container_problems(container, set(volume_names))
    return out


def _container_problems(container: Mapping[str, Any], volumes: set[str]) -> list[str]:
    from kubernetes.utils import parse_quantity

    out: list[str] = []
    name = container.get("name")
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        for resource, quantity in ((container.get("resources") or {}).get(kind) or {}).items():
            try:
                parsed.setdefault(kind, {})[resource] = parse_quantity(quantity)
            except (ValueError, TypeError):
                out.append(f"container {name!r}: resources.{kind}.{resource}={quantity!r} is not a Kubernetes quantity")
    requests, limits = parsed.get("requests", {}), parsed.get("limits", {})
    for resource, amount in requests.items():
        if resource in limits and amount > limits[resource]:
            out.append(f"container {name!r}: requests.{resource} ({amount}) is above limits.{resource} "
                       f"({limits[resource]}); Kubernetes refuses such a pod")
        if "/" in resource and limits.get(resource) != amount:
            out.append(f"container {name!r}: extended resource {resource} needs equal requests and limits")
    mount_paths: list[str] = []
    for mount in container.get("volumeMounts") or []:
        if mount.get("name") not in volumes:
            out.append(f"container {name!r}: volumeMount {mount.get('name')!r} names no volume of the pod")
        mount_paths.append(str(mount.get("mountPath", "")).rstrip("/"))
    for path in {p for p in mount_paths if mount_paths.count(p) > 1}:
        out.append(f"container {name!r}: two volumes are mounted at {path!r}")
    return out


_VALIDATOR: Any = None


def _validator() -> Any:
    """A reusable validator over kubernetes-validate's own strict Job schema."""
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema
        from kubernetes_validate import utils
        from referencing import Registry, Resource

        version = [v for v in utils.all_versions() if utils.major_minor(v) <= KUBERNETES_VERSION][-1]
        folder = f"kubernetes-json-schema/v{version}-local-strict"
        schema = utils.schema_contents(f"{folder}/job-batch-v1.json", version)
        definitions = utils.schema_contents(f"{folder}/_definitions.json", version)
        registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
        _VALIDATOR = jsonschema.validators.Draft202012Validator(schema, registry=registry)
    return _VALIDATOR


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _first_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)  # DagsterInvalidConfigError lists what was wrong
    if errors:
        return str(exc).strip().splitlines()[0] + ": " + "; ".join(e.message for e in errors)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
