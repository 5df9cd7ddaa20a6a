"""Admission: what the real API server does to a manifest before storing it.

1. Strict schema validation with kubernetes-validate at the schema version matching the installed
   ``kubernetes`` client (unknown fields, wrong types, missing required fields).
2. Defaulting the fields controllers and clients rely on (Job selector and pod-template labels,
   restartPolicy, backoffLimit, requests defaulted from limits, ...).
3. The checks the OpenAPI schema cannot express but the API server's validation does: DNS names,
   label/annotation syntax, container image required, Job restartPolicy, resource quantities and
   requests <= limits. A bad pod spec therefore fails at create with 422, as on a cluster.
"""

from __future__ import annotations

import base64
import functools
import re
from typing import Any

import jsonschema
import kubernetes
import kubernetes_validate
from kubernetes.utils.quantity import parse_quantity
from kubernetes_validate.utils import all_versions, major_minor, schema_contents
from referencing import Registry
from referencing import Resource as SchemaResource

from .store import ApiError, Obj, Resource

# kubernetes client 36.x speaks Kubernetes 1.36; validate against that schema.
SCHEMA_VERSION = f"1.{kubernetes.__version__.split('.')[0]}.0"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


class Causes(list):
    """The field errors of one object; the 422 message lists them all, like the API server."""

    def add(self, path: str, message: str) -> None:
        self.append({"field": path, "message": message,
                     "reason": "FieldValueRequired" if message.startswith("Required") else "FieldValueInvalid"})


def admit(res: Resource, obj: Obj) -> None:
    """Validate and default ``obj`` in place, or raise a 422 ``ApiError``."""
    causes = Causes()
    try:
        _validator(obj["apiVersion"], obj["kind"]).validate(obj)
    except jsonschema.ValidationError as exc:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path).lstrip(".")
        causes.add(path or "<root>", exc.message)
    except kubernetes_validate.SchemaNotFoundError:
        pass  # kinds without a schema (none of ours today) are stored as they are
    if not causes:
        _check_metadata(obj["metadata"], "metadata", causes, res.kind not in ("Event",))
        if res.kind == "Secret" and obj.get("stringData"):  # the API server folds stringData into data
            data = obj.setdefault("data", {})
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(value.encode()).decode()
        if res.kind == "Pod":
            _default_pod_spec(obj["spec"])
            _check_pod_spec(obj["spec"], "spec", causes)
        elif res.kind == "Job":
            _default_job(obj)
            template = obj["spec"]["template"]
            _check_metadata(template["metadata"], "spec.template.metadata", causes, False)
            _check_pod_spec(template["spec"], "spec.template.spec", causes)
            policy = template["spec"]["restartPolicy"]
            if policy not in ("OnFailure", "Never"):
                causes.add("spec.template.spec.restartPolicy",
                           f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"')
    if causes:
        kind = f"{res.kind}.{res.group}" if res.group else res.kind
        name = obj["metadata"].get("name", "")
        text = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {text}',
                       {"name": name, "group": res.group, "kind": res.kind, "causes": list(causes)})


@functools.lru_cache(maxsize=None)
def _validator(api_version: str, kind: str) -> jsonschema.Validator:
    """What ``kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)`` builds, built once
    per kind: that function reloads the schema and its 1.6 MB of definitions on every call (~9 ms,
    ~0.4 ms with the validator kept), and a Job costs five validations (Job, Pod, events)."""
    version = [v for v in all_versions() if major_minor(v) <= major_minor(SCHEMA_VERSION)][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", SCHEMA_VERSION)
    except FileNotFoundError:
        raise kubernetes_validate.SchemaNotFoundError(version=major_minor(SCHEMA_VERSION), kind=kind,
                                                      api_version=api_version) from None
    definitions = schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)
    registry = SchemaResource.from_contents(definitions) @ (SchemaResource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _default_job(job: Obj) -> None:
    spec, meta = job["spec"], job["metadata"]
    for key, value in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1), ("suspend", False),
                       ("completionMode", "NonIndexed"), ("podReplacementPolicy", "TerminatingOrFailed")):
        spec.setdefault(key, value)
    uid = meta["uid"]
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    template = spec["template"]
    template.setdefault("metadata", {}).setdefault("labels", {}).update({
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta["name"],
        "controller-uid": uid, "job-name": meta["name"]})
    template["spec"].setdefault("restartPolicy", "Always")
    _default_pod_spec(template["spec"])


def _default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    for container in spec.get("containers") or []:
        image = container.get("image") or ""
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        resources = container.setdefault("resources", {})
        for name, value in (resources.get("limits") or {}).items():
            resources.setdefault("requests", {}).setdefault(name, value)


def _check_metadata(meta: Obj, path: str, causes: Causes, needs_name: bool) -> None:
    name = meta.get("name")
    if needs_name and name is not None and (len(name) > 253 or not DNS_SUBDOMAIN.fullmatch(name)):
        causes.add(f"{path}.name", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
                   "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                   "with an alphanumeric character")
    for field in ("labels", "annotations"):
        for key, value in (meta.get(field) or {}).items():
            _check_qualified_name(key, f"{path}.{field}", causes)
            if field == "labels" and value and (len(value) > 63 or not LABEL_NAME.fullmatch(value)):
                causes.add(f"{path}.labels", f'Invalid value: "{value}": a valid label must be an empty '
                           "string or consist of alphanumeric characters, '-', '_' or '.', and must start "
                           "and end with an alphanumeric character, and be no more than 63 characters")


def _check_qualified_name(key: str, path: str, causes: Causes) -> None:
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.fullmatch(prefix))) \
            or len(name) > 63 or not LABEL_NAME.fullmatch(name):
        causes.add(path, f'Invalid value: "{key}": name part must consist of alphanumeric characters, '
                   "'-', '_' or '.', must start and end with an alphanumeric character and be no more "
                   "than 63 characters; an optional prefix must be a DNS subdomain")


def _check_pod_spec(spec: Obj, path: str, causes: Causes) -> None:
    containers = spec.get("containers") or []
    if not containers:
        causes.add(f"{path}.containers", "Required value")
    seen: set[str] = set()
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(kind) or []):
            where = f"{path}.{kind}[{i}]"
            name = container.get("name", "")
            if len(name) > 63 or not DNS_LABEL.fullmatch(name):
                causes.add(f"{where}.name", f'Invalid value: "{name}": a lowercase RFC 1123 label must '
                           "consist of lower case alphanumeric characters or '-'")
            elif name in seen:
                causes.add(f"{where}.name", f'Duplicate value: "{name}"')
            seen.add(name)
            if not container.get("image"):
                causes.add(f"{where}.image", "Required value")
            for j, env in enumerate(container.get("env") or []):
                if not ENV_NAME.fullmatch(env.get("name", "")):
                    causes.add(f"{where}.env[{j}].name", f'Invalid value: "{env.get("name")}": a valid '
                               "environment variable name must consist of alphabetic characters, digits, "
                               "'_', '-', or '.', and must not start with a digit")
            _check_resources(container.get("resources") or {}, f"{where}.resources", causes)


def _check_resources(resources: Obj, path: str, causes: Causes) -> None:
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("limits", "requests"):
        parsed[section] = {}
        for name, value in (resources.get(section) or {}).items():
            try:
                parsed[section][name] = parse_quantity(value)
            except ValueError:
                causes.add(f"{path}.{section}[{name}]", f'Invalid value: "{value}": quantities must match '
                           "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
                continue
            if parsed[section][name] < 0:
                causes.add(f"{path}.{section}[{name}]",
                           f'Invalid value: "{value}": must be greater than or equal to 0')
    limits, requests = parsed["limits"], parsed["requests"]
    for name, request in requests.items():
        raw_request = resources["requests"][name]
        if name in STANDARD_RESOURCES or name.startswith("hugepages-"):
            if name in limits and request > limits[name]:
                causes.add(f"{path}.requests", f'Invalid value: "{raw_request}": must be less than or '
                           f"equal to {name} limit of {resources['limits'][name]}")
        elif name not in limits:
            causes.add(f"{path}.limits", "Required value: Limit must be set for non overcommitable "
                       "resources")
        elif request != limits[name]:
            causes.add(f"{path}.requests[{name}]", f'Invalid value: "{raw_request}": must be equal to '
                       f"{name} limit of {resources['limits'][name]}")
