"""Metaflow's run tags, kept on the Dagster run.

A Metaflow tag is a bare string ("team:ml", "刺身 means sashimi"); a Dagster run tag is a key
and a value. The user tags of a run are one Dagster run tag, ``flowassets/tags``, whose value
is a JSON list, so any string survives (an earlier comma-joined form is still read). System
tags (``user:NAME``, ``runtime:flowassets``, ``date:YYYY-MM-DD``, ``project:...``) are not
stored as such: they are derived from facts the run already carries, as Metaflow derives
them from its metadata. The rules for what a tag may be are Metaflow's (tagging_util.py).
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from ..errors import TaggingError

USER_TAGS_TAG = "flowassets/tags"
USER_NAME_TAG = "flowassets/user"
PROJECT_TAG = "flowassets/project"
PROJECT_BRANCH_TAG = "flowassets/project-branch"
MAX_TAG_SIZE = 500  # Metaflow's limits
MAX_USER_TAGS = 50


def encode(tags: Iterable[str]) -> str:
    return json.dumps(sorted(set(tags)), ensure_ascii=False)


def decode(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    if value.startswith("["):
        return frozenset(json.loads(value))
    return frozenset(t for t in value.split(",") if t)  # written before the JSON form


def user_tags(dagster_tags: Mapping[str, str]) -> frozenset[str]:
    return decode(dagster_tags.get(USER_TAGS_TAG))


def system_tags(dagster_tags: Mapping[str, str], created: float | None = None) -> frozenset[str]:
    found = {"runtime:flowassets"}
    if dagster_tags.get(USER_NAME_TAG):
        found.add(f"user:{dagster_tags[USER_NAME_TAG]}")
    if dagster_tags.get(PROJECT_TAG):
        found.add(f"project:{dagster_tags[PROJECT_TAG]}")
    if dagster_tags.get(PROJECT_BRANCH_TAG):
        found.add(f"project_branch:{dagster_tags[PROJECT_BRANCH_TAG]}")
    if created is not None:
        found.add("date:" + datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%d"))
    return frozenset(found)


def validate(tags: Iterable[Any], what: str) -> list[str]:
    """Metaflow's rules; ``what`` names the run in the message. Bytes are decoded as UTF-8."""
    checked = []
    for tag in tags:
        if isinstance(tag, bytes):
            try:
                tag = tag.decode("utf-8")
            except UnicodeDecodeError:
                raise TaggingError(f"{what}: a tag given as bytes is not UTF-8 text") from None
        if not isinstance(tag, str):
            raise TaggingError(f"{what}: a tag must be a string, got {type(tag).__name__} {tag!r}")
        try:
            tag.encode("utf-8")
        except UnicodeEncodeError:  # e.g. undecodable bytes given on a command line
            raise TaggingError(f"{what}: tag {tag!r} is not valid UTF-8 text") from None
        if not tag:
            raise TaggingError(f"{what}: a tag must not be the empty string")
        if len(tag) > MAX_TAG_SIZE:
            raise TaggingError(f"{what}: tag {tag[:40]!r}... is {len(tag)} characters; "
                               f"at most {MAX_TAG_SIZE} are allowed")
        checked.append(tag)
    return checked


def mutated(current: frozenset[str], system: frozenset[str], remove: Iterable[Any],
            add: Iterable[Any], what: str) -> frozenset[str]:
    """The user tags after Metaflow's ``replace_tags``: removal first; a system tag is never
    added as a user tag, and removing one is refused (nothing changes)."""
    remove, add = validate(remove, what), validate(add, what)
    if not remove and not add:
        raise TaggingError(f"{what}: nothing to add or remove: give at least one tag")
    refused = sorted(set(remove) & system)
    if refused:
        raise TaggingError(f"{what}: {', '.join(map(repr, refused))} is a system tag and cannot "
                           "be removed; only user tags (given with --tag or add_tag) can")
    result = (current - set(remove)) | (set(add) - system)
    if len(result) > MAX_USER_TAGS and len(result) > len(current):
        raise TaggingError(f"{what}: a run can have at most {MAX_USER_TAGS} user tags")
    return frozenset(result)


def launch_tags(user_tags_given: Iterable[str], what: str) -> dict[str, str]:
    """The Dagster run tags a CLI launch records: its ``--tag`` values and who launched it."""
    tags = {USER_NAME_TAG: username()} if username() else {}
    given = validate(user_tags_given, what)
    if given:
        tags[USER_TAGS_TAG] = encode(given)
    return tags


def username() -> str | None:
    """Who runs this, in Metaflow's order of variables (metaflow.util.get_username), then the
    account's name (a container often sets none of them)."""
    for var in ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER"):
        if os.environ.get(var) and not (var == "SUDO_USER" and os.environ[var] == "root"):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid
        return None
