"""Decorator values checked and normalized when the job is built.

Every check returns ``Problem``s naming flow, step, decorator, parameter and value, so a bad
``@kubernetes(memory="lots")`` is refused by ``flow_to_job`` instead of by a pod that never
starts. ``Resources`` is the merged @resources/@kubernetes request the compute mappings read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..authoring.decorators import FLOW_DEFAULTS, STEP_DEFAULTS, DecoratorSpec
from ..errors import Problem

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QOS_CLASSES = ("Guaranteed", "Burstable")
GPU_VENDORS = ("nvidia", "amd")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TOLERATION_OPERATORS = ("Equal", "Exists")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_KEYS = {"key", "operator", "value", "effect", "toleration_seconds", "tolerationSeconds"}
SECURITY_CONTEXT_KEYS = {
    "privileged", "allow_privilege_escalation", "run_as_user", "run_as_group", "run_as_non_root",
    "read_only_root_filesystem", "capabilities", "se_linux_options", "seccomp_profile",
    "proc_mount", "windows_options", "app_armor_profile",
}
UNSUPPORTED = {
    "pypi": "@pypi is not supported: flowassets does not build per-step environments. Install "
            "the packages in the image (@kubernetes(image=...)) or the local environment.",
    "conda": "@conda is not supported: flowassets does not build per-step environments. Install "
             "the packages in the image (@kubernetes(image=...)) or the local environment.",
    "batch": "@batch is not supported: dagster-aws offers an ECS run launcher but no per-step "
             "ECS executor, so a step cannot honestly be sent to AWS Batch/ECS. Use @kubernetes.",
}


@dataclass(frozen=True)
class Resources:
    """The merged resource request of one step (the larger of @resources and @kubernetes)."""

    cpu: float = 1.0
    memory_mb: int = 4096
    disk_mb: int | None = None
    gpu: int | None = None
    shared_memory_mb: int | None = None


Checker = Callable[[str, Any], "str | None"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def positive_number(unit: str) -> Checker:
    def check(name: str, value: Any) -> str | None:
        number = _number(value)
        if number is None or number != number:
            return f"must be a number{unit}, got {value!r}"
        if number <= 0:
            return f"must be greater than 0{unit}, got {value!r}"
        return None
    return check


def non_negative_int(name: str, value: Any) -> str | None:
    number = _number(value)
    if number is None or not float(number).is_integer() or number < 0:
        return f"must be a whole number >= 0, got {value!r}"
    return None


def one_of(choices: Iterable[str]) -> Checker:
    allowed = tuple(choices)

    def check(name: str, value: Any) -> str | None:
        if value not in allowed:
            return f"must be one of {', '.join(allowed)}, got {value!r}"
        return None
    return check


def label_key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return f"key {key!r} must be a string"
    prefix, _, name = key.rpartition("/")
    if prefix and not DNS1123_SUBDOMAIN.match(prefix):
        return f"key {key!r}: prefix {prefix!r} is not a DNS-1123 subdomain"
    if not LABEL_NAME.match(name) or len(name) > 63:
        return (f"key {key!r} must be at most 63 characters of letters, digits, '-', '_', '.', "
                "starting and ending with a letter or digit")
    return None


def labels_check(values_too: bool) -> Checker:
    def check(name: str, value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"must be a dict of str to str, got {value!r}"
        for key, item in value.items():
            problem = label_key_problem(key)
            if problem:
                return problem
            if not isinstance(item, str):
                return f"value of {key!r} must be a string, got {item!r}"
            if values_too and (len(item) > 63 or not LABEL_VALUE.match(item)):
                return (f"value {item!r} of {key!r} is not a valid label value (at most 63 "
                        "characters of letters, digits, '-', '_', '.', starting and ending with "
                        "a letter or digit)")
        return None
    return check


def node_selector_check(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        pairs = [p for p in value.split(",") if p.strip()]
        parsed = {}
        for pair in pairs:
            if "=" not in pair:
                return f"{pair!r} is not key=value (write \"k=v,k2=v2\" or a dict)"
            k, v = pair.split("=", 1)
            parsed[k.strip()] = v.strip()
        value = parsed
    return labels_check(True)(name, value)


def tolerations_check(name: str, value: Any) -> str | None:
    if not isinstance(value, (list, tuple)):
        return f"must be a list of dicts, got {value!r}"
    for tol in value:
        if not isinstance(tol, Mapping):
            return f"each toleration must be a dict, got {tol!r}"
        unknown = set(tol) - TOLERATION_KEYS
        if unknown:
            return f"toleration {dict(tol)!r} has unknown key(s) {sorted(unknown)}"
        op = tol.get("operator", "Equal")
        if op not in TOLERATION_OPERATORS:
            return f"toleration operator must be Equal or Exists, got {op!r}"
        effect = tol.get("effect")
        if effect is not None and effect not in TOLERATION_EFFECTS:
            return f"toleration effect must be one of {', '.join(TOLERATION_EFFECTS)}, got {effect!r}"
        if op == "Exists" and tol.get("value"):
            return f"toleration {dict(tol)!r}: operator Exists takes no value"
    return None


def pvc_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of claim name to mount path, got {value!r}"
    for claim, path in value.items():
        if not isinstance(claim, str) or not DNS1123_SUBDOMAIN.match(claim):
            return f"claim name {claim!r} is not a DNS-1123 name (lowercase letters, digits, '-', '.')"
        if not isinstance(path, str) or not path.startswith("/"):
            return f"mount path {path!r} for claim {claim!r} must be an absolute path"
    return None


def absolute_path(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.startswith("/"):
        return f"must be an absolute path, got {value!r}"
    return None


def dns_label(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not DNS1123_LABEL.match(value):
        return f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
    return None


def dns_subdomain(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not DNS1123_SUBDOMAIN.match(value):
        return f"{value!r} is not a DNS-1123 name (lowercase letters, digits, '-' and '.')"
    return None


def string_list(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        return f"must be a list of strings, got {value!r}"
    return None


def port_check(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return f"must be a port number from 1 to 65535, got {value!r}"
    return None


def boolean(name: str, value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"must be True or False, got {value!r}"
    return None


def image_check(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        return f"must be an image reference without spaces, got {value!r}"
    return None


def security_context_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict with snake_case keys, got {value!r}"
    unknown = set(value) - SECURITY_CONTEXT_KEYS
    if unknown:
        return f"unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(SECURITY_CONTEXT_KEYS))}"
    for key in ("run_as_user", "run_as_group"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], int) or value[key] < 0):
            return f"{key} must be a non-negative integer, got {value[key]!r}"
    for key in ("privileged", "allow_privilege_escalation", "run_as_non_root", "read_only_root_filesystem"):
        if key in value and not isinstance(value[key], bool):
            return f"{key} must be True or False, got {value[key]!r}"
    return None


def env_vars_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of variable name to value, got {value!r}"
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            return f"{key!r} is not a valid environment variable name"
        if not isinstance(item, (str, int, float, bool)):
            return f"value of {key!r} must be a string or number, got {type(item).__name__}"
    return None


def identifier_or_none(name: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.isidentifier()):
        return f"must be an artifact name (a Python identifier), got {value!r}"
    return None


RESOURCE_CHECKS: dict[str, Checker] = {
    "cpu": positive_number(""),
    "memory": positive_number(" of MB"),
    "disk": positive_number(" of MB"),
    "gpu": non_negative_int,
    "shared_memory": positive_number(" of MiB"),
}

CHECKS: dict[str, dict[str, Checker]] = {
    "resources": RESOURCE_CHECKS,
    "kubernetes": {
        **RESOURCE_CHECKS,
        "gpu_vendor": one_of(GPU_VENDORS),
        "image": image_check,
        "image_pull_policy": one_of(PULL_POLICIES),
        "image_pull_secrets": string_list,
        "service_account": dns_subdomain,
        "secrets": string_list,
        "namespace": dns_label,
        "node_selector": node_selector_check,
        "tolerations": tolerations_check,
        "labels": labels_check(True),
        "annotations": labels_check(False),
        "use_tmpfs": boolean,
        "tmpfs_tempdir": boolean,
        "tmpfs_size": positive_number(" of MiB"),
        "tmpfs_path": absolute_path,
        "persistent_volume_claims": pvc_check,
        "port": port_check,
        "qos": one_of(QOS_CLASSES),
        "security_context": security_context_check,
        "hostname_resolution_timeout": positive_number(" of seconds"),
    },
    "retry": {"times": non_negative_int, "minutes_between_retries": non_negative_int},
    "timeout": {"seconds": non_negative_int, "minutes": non_negative_int, "hours": non_negative_int},
    "catch": {"var": identifier_or_none, "print_exception": boolean},
    "environment": {"vars": env_vars_check},
    "secrets": {"sources": string_list},
}


def check_step_decorators(flow: str, step: str, specs: Iterable[DecoratorSpec], file: str | None,
                          node: Any = None) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()

    def add(spec: DecoratorSpec, message: str, code: str = "decorator-bad-value",
            fix: str | None = None) -> None:
        problems.append(Problem(code, flow, message, step, file, spec.line, fix))

    for spec in specs:
        if spec.name in seen:
            add(spec, f"@{spec.name} is applied twice.", "decorator-duplicate", "keep one.")
        seen.add(spec.name)
        if spec.name in UNSUPPORTED:
            add(spec, UNSUPPORTED[spec.name], "decorator-unsupported")
            continue
        allowed = STEP_DEFAULTS.get(spec.name, {})
        for arg, value in spec.args.items():
            if arg == "_positional":
                add(spec, f"@{spec.name} takes keyword arguments only, got {value!r}.",
                    "decorator-positional-argument", f"write @{spec.name}(name=value).")
                continue
            if arg not in allowed:
                add(spec, f"@{spec.name} has no argument {arg!r}; known: {', '.join(allowed)}.",
                    "decorator-unknown-argument")
                continue
            check = CHECKS.get(spec.name, {}).get(arg)
            if value is None or check is None:
                continue
            message = check(arg, value)
            if message:
                add(spec, f"@{spec.name}({arg}=...) {message}.")
        if spec.name == "timeout" and not problems:
            total = _timeout_seconds(spec)
            if total <= 0:
                add(spec, "@timeout needs seconds, minutes or hours greater than 0.")
        if spec.name == "kubernetes" and spec.args.get("qos") == "Guaranteed":
            pass
    if node is not None and node.kind == "foreach" and "catch" in seen:
        spec = next(s for s in specs if s.name == "catch")
        add(spec, "@catch is not supported on a foreach split step (as in Metaflow).",
            "decorator-catch-on-foreach", "move the risky work to a step inside the foreach.")
    return problems


def _timeout_seconds(spec: DecoratorSpec) -> int:
    args = spec.resolved()
    return int(float(args["hours"])) * 3600 + int(float(args["minutes"])) * 60 + int(float(args["seconds"]))


def timeout_seconds(specs: Iterable[DecoratorSpec]) -> int | None:
    for spec in specs:
        if spec.name == "timeout":
            return _timeout_seconds(spec)
    return None


def check_flow_decorators(flow: str, specs: Iterable[DecoratorSpec], file: str | None) -> list[Problem]:
    problems: list[Problem] = []
    for spec in specs:
        allowed = FLOW_DEFAULTS.get(spec.name, {})
        for arg in spec.args:
            if arg not in allowed:
                problems.append(Problem("decorator-unknown-argument", flow,
                                        f"@{spec.name} has no argument {arg!r}; known: "
                                        f"{', '.join(allowed)}.", None, file, spec.line))
        if spec.name == "schedule":
            problems.extend(_check_schedule(flow, spec, file))
    return problems


def _check_schedule(flow: str, spec: DecoratorSpec, file: str | None) -> list[Problem]:
    args = spec.args
    out = []
    cron = args.get("cron")
    if cron is not None:
        fields = str(cron).split()
        if len(fields) != 5:
            out.append(Problem("decorator-bad-value", flow, f"@schedule(cron={cron!r}) must have "
                               "5 fields (minute hour day month weekday).", None, file, spec.line))
    tz = args.get("timezone")
    if tz is not None:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(tz)
        except Exception:  # noqa: BLE001
            out.append(Problem("decorator-bad-value", flow, f"@schedule(timezone={tz!r}) is not "
                               "a known IANA time zone.", None, file, spec.line))
    return out


def merged_resources(specs: Iterable[DecoratorSpec]) -> Resources:
    """The larger of each value across @resources and @kubernetes, as Metaflow merges them."""
    by_name = {s.name: s for s in specs}
    sources = [by_name[n].resolved() for n in ("resources", "kubernetes") if n in by_name]
    if not sources:
        sources = [dict(STEP_DEFAULTS["resources"])]

    def biggest(key: str) -> float | None:
        values = [_number(s.get(key)) for s in sources if s.get(key) is not None]
        values = [v for v in values if v is not None]
        return max(values) if values else None

    cpu = biggest("cpu") or 1.0
    memory = biggest("memory") or 4096
    disk, gpu, shm = biggest("disk"), biggest("gpu"), biggest("shared_memory")
    return Resources(
        cpu=cpu, memory_mb=int(memory), disk_mb=int(disk) if disk else None,
        gpu=int(gpu) if gpu is not None else None, shared_memory_mb=int(shm) if shm else None,
    )
