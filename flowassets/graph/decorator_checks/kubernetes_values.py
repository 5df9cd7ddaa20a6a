"""Value checks for @kubernetes arguments, one small function per rule Kubernetes enforces.

A checker takes (parameter, value) and returns None or a sentence that quotes the value;
``steps_and_flow.check_decorator_args`` adds flow, step, file and line. The rules are the API
server's own (DNS-1123 names, qualified label keys, 63-character label values, toleration
operators), checked here because neither Dagster nor kubernetes-validate checks label values,
and a pod refused by the API server fails only at launch. They sit at the graph level so
``graph.build`` refuses a bad value when the job is built; ``compute/kubernetes.py`` (where each
value becomes a pod field) and ``compute/k8s_manifest.py`` import them from here.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .values import (Checker, boolean, number, one_of_ignoring_case, positive_int,
                     positive_number)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
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
SECURITY_CONTEXT_BOOLS = ("privileged", "allow_privilege_escalation", "run_as_non_root",
                          "read_only_root_filesystem")
SECCOMP_TYPES = ("RuntimeDefault", "Localhost", "Unconfined")
ANNOTATIONS_MAX_BYTES = 256 * 1024
SHM_PATH = "/dev/shm"


def label_key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return f"key {key!r} must be a string"
    prefix, _, name = key.rpartition("/")
    if prefix and not DNS1123_SUBDOMAIN.match(prefix):
        return f"key {key!r}: prefix {prefix!r} is not a DNS-1123 subdomain"
    if not LABEL_NAME.match(name) or len(name) > 63:
        return (f"key {key!r} must be at most 63 characters of letters, digits, '-', '_', '.', "
                "starting and ending with a letter or digit (after an optional 'prefix/')")
    return None


def label_value_problem(key: str, item: Any) -> str | None:
    if not isinstance(item, str):
        return f"value of {key!r} must be a string, got {item!r}"
    if len(item) > 63 or not LABEL_VALUE.match(item):
        return (f"value {item!r} of {key!r} is not a valid label value (at most 63 characters "
                "of letters, digits, '-', '_', '.', starting and ending with a letter or digit)")
    return None


def labels_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of str to str, got {value!r}"
    for key, item in value.items():
        problem = label_key_problem(key) or label_value_problem(key, item)
        if problem:
            return problem
    return None


def annotations_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of str to str, got {value!r}"
    for key, item in value.items():
        problem = label_key_problem(key)
        if problem:
            return problem
        if not isinstance(item, str):
            return f"value of {key!r} must be a string, got {item!r}"
    size = sum(len(str(k)) + len(str(v)) for k, v in value.items())
    if size > ANNOTATIONS_MAX_BYTES:
        return f"annotations total {size} bytes; Kubernetes allows {ANNOTATIONS_MAX_BYTES}"
    return None


def parse_key_values(text: str) -> dict[str, str]:
    """``"k=v,k2=v2"`` as a dict (Metaflow's string form of node_selector); ValueError if not."""
    parsed: dict[str, str] = {}
    for pair in (p for p in text.split(",") if p.strip()):
        if "=" not in pair:
            raise ValueError(f"{pair!r} is not key=value (write \"k=v,k2=v2\" or a dict)")
        key, item = pair.split("=", 1)
        parsed[key.strip()] = item.strip()
    return parsed


def node_selector_check(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value = parse_key_values(value)
        except ValueError as exc:
            return str(exc)
    return labels_check(name, value)


def _toleration_problem(tol: Any) -> str | None:
    if not isinstance(tol, Mapping):
        return f"each toleration must be a dict, got {tol!r}"
    unknown = set(tol) - TOLERATION_KEYS
    if unknown:
        return f"toleration {dict(tol)!r} has unknown key(s) {sorted(unknown)}; allowed: key, operator, value, effect, toleration_seconds"
    key, op, effect = tol.get("key"), tol.get("operator", "Equal"), tol.get("effect")
    if op not in TOLERATION_OPERATORS:
        return f"toleration operator must be Equal or Exists, got {op!r}"
    if effect is not None and effect not in TOLERATION_EFFECTS:
        return f"toleration effect must be one of {', '.join(TOLERATION_EFFECTS)}, got {effect!r}"
    if key:
        problem = label_key_problem(key)
        if problem:
            return f"toleration {problem}"
    elif op != "Exists":
        return f"toleration {dict(tol)!r}: without a key the operator must be Exists"
    if op == "Exists" and tol.get("value"):
        return f"toleration {dict(tol)!r}: operator Exists takes no value"
    if op == "Equal" and tol.get("value") is not None:
        problem = label_value_problem(str(key), tol["value"])
        if problem:
            return f"toleration {problem}"
    seconds = tol.get("toleration_seconds", tol.get("tolerationSeconds"))
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            return f"toleration_seconds must be a whole number of seconds, got {seconds!r}"
        if effect != "NoExecute":
            return f"toleration {dict(tol)!r}: toleration_seconds needs effect NoExecute"
    return None


def tolerations_check(name: str, value: Any) -> str | None:
    if not isinstance(value, (list, tuple)):
        return f"must be a list of dicts, got {value!r}"
    for tol in value:
        problem = _toleration_problem(tol)
        if problem:
            return problem
    return None


def mount_path_problem(path: Any) -> str | None:
    if not isinstance(path, str) or not path.startswith("/"):
        return f"mount path {path!r} must be an absolute path"
    if path.rstrip("/") == "" or ":" in path or any(part == ".." for part in path.split("/")):
        return f"mount path {path!r} must not be '/', contain ':' or '..'"
    return None


def pvc_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict of claim name to mount path, got {value!r}"
    seen: dict[str, str] = {}
    for claim, path in value.items():
        if not isinstance(claim, str) or not DNS1123_SUBDOMAIN.match(claim):
            return f"claim name {claim!r} is not a DNS-1123 name (lowercase letters, digits, '-', '.')"
        problem = mount_path_problem(path)
        if problem:
            return f"{problem} (claim {claim!r})"
        normal = path.rstrip("/")
        if normal in seen:
            return f"claims {seen[normal]!r} and {claim!r} are both mounted at {path!r}"
        if normal == SHM_PATH:
            return f"claim {claim!r} cannot be mounted at {SHM_PATH} (use shared_memory)"
        seen[normal] = claim
    return None


def absolute_path(name: str, value: Any) -> str | None:
    problem = mount_path_problem(value)
    return problem.replace("mount path", "", 1).strip() if problem else None


def dns_label(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not DNS1123_LABEL.match(value):
        return f"{value!r} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
    return None


def dns_subdomain(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not DNS1123_SUBDOMAIN.match(value):
        return f"{value!r} is not a DNS-1123 name (lowercase letters, digits, '-' and '.')"
    return None


def name_list(name: str, value: Any) -> str | None:
    """Secret names: a list, or one comma-separated string as Metaflow's config takes them."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return f"must be a list of names, got {value!r}"
    for item in items:
        if not isinstance(item, str) or not DNS1123_SUBDOMAIN.match(item.strip()):
            return f"{item!r} is not a valid Secret name (DNS-1123: lowercase letters, digits, '-', '.')"
    return None


def port_check(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return f"must be a port number from 1 to 65535, got {value!r}"
    return None


def image_check(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value):
        return f"must be an image reference without spaces, got {value!r}"
    if value != value.strip() or value.endswith((":", "@", "/")) or value.startswith(("/", ":")):
        return f"{value!r} is not an image reference like 'registry/name:tag'"
    return None


def security_context_check(name: str, value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a dict with snake_case keys, got {value!r}"
    unknown = set(value) - SECURITY_CONTEXT_KEYS
    if unknown:
        return f"unknown key(s) {sorted(unknown)}; allowed (snake_case): {', '.join(sorted(SECURITY_CONTEXT_KEYS))}"
    for key in ("run_as_user", "run_as_group"):
        item = value.get(key)
        if key in value and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
            return f"{key} must be a non-negative integer, got {item!r}"
    for key in SECURITY_CONTEXT_BOOLS:
        if key in value and not isinstance(value[key], bool):
            return f"{key} must be True or False, got {value[key]!r}"
    caps = value.get("capabilities")
    if caps is not None:
        if not isinstance(caps, Mapping) or set(caps) - {"add", "drop"}:
            return f"capabilities must be a dict with 'add' and/or 'drop' lists, got {caps!r}"
        if not all(isinstance(c, (list, tuple)) and all(isinstance(x, str) for x in c) for c in caps.values()):
            return f"capabilities 'add'/'drop' must be lists of names, got {caps!r}"
    seccomp = value.get("seccomp_profile")
    if seccomp is not None and (not isinstance(seccomp, Mapping) or seccomp.get("type") not in SECCOMP_TYPES):
        return f"seccomp_profile must be a dict with type one of {', '.join(SECCOMP_TYPES)}, got {seccomp!r}"
    if value.get("privileged") and value.get("allow_privilege_escalation") is False:
        return "allow_privilege_escalation cannot be False when privileged is True"
    return None


def positive_seconds(name: str, value: Any) -> str | None:
    found = number(value)
    if found is None or found <= 0:
        return f"must be a number of seconds greater than 0, got {value!r}"
    return None


def string_or_none(name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"must be a non-empty string, got {value!r}"
    return label_value_problem(name, value)


RESOURCE_CHECKS: dict[str, Checker] = {
    "cpu": positive_number(""),
    "memory": positive_number(" of MB"),
    "disk": positive_number(" of MB"),
    "gpu": lambda name, value: (None if (n := number(value)) is not None and n.is_integer() and n >= 0
                                else f"must be a whole number of GPUs >= 0, got {value!r}"),
    "shared_memory": positive_int(" of MiB"),
}

KUBERNETES_CHECKS: dict[str, Checker] = {
    **RESOURCE_CHECKS,
    "gpu_vendor": one_of_ignoring_case(GPU_VENDORS),
    "image": image_check,
    "image_pull_policy": lambda name, value: (None if value in PULL_POLICIES else
                                              f"must be one of {', '.join(PULL_POLICIES)}, got {value!r}"),
    "image_pull_secrets": name_list,
    "service_account": dns_subdomain,
    "secrets": name_list,
    "namespace": dns_label,
    "node_selector": node_selector_check,
    "tolerations": tolerations_check,
    "labels": labels_check,
    "annotations": annotations_check,
    "use_tmpfs": boolean,
    "tmpfs_tempdir": boolean,
    "tmpfs_size": positive_int(" of MiB"),
    "tmpfs_path": absolute_path,
    "persistent_volume_claims": pvc_check,
    "port": port_check,
    "qos": one_of_ignoring_case(QOS_CLASSES),
    "security_context": security_context_check,
    "compute_pool": string_or_none,
    "hostname_resolution_timeout": positive_seconds,
}


def kubernetes_combination_problems(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(parameter, message) for values that are fine alone but clash with another argument."""
    out: list[tuple[str, str]] = []
    tmpfs_path = args.get("tmpfs_path") or "/metaflow_temp"
    tmpfs_on = args.get("use_tmpfs") or args.get("tmpfs_size")
    pvcs = args.get("persistent_volume_claims")
    if tmpfs_on and isinstance(tmpfs_path, str):
        if tmpfs_path.rstrip("/") == SHM_PATH:
            out.append(("tmpfs_path", f"{tmpfs_path!r} is where shared_memory is mounted; pick another path"))
        if isinstance(pvcs, Mapping):
            for claim, path in pvcs.items():
                if isinstance(path, str) and path.rstrip("/") == tmpfs_path.rstrip("/"):
                    out.append(("persistent_volume_claims",
                                f"claim {claim!r} is mounted at {path!r}, where the tmpfs is mounted"))
    return out
