"""Metaflow's tag API on the client's ``Run`` (``tags``, ``add_tag``, ``replace_tags``, ...).

Tags live on the Dagster run (``storage.run_tags``), so a tag added here shows in the Dagster UI
and in ``flowassets tag list``. Each change is a read-modify-write of one Dagster run tag, like
Dagster's own ``add_run_tags``: two processes changing the same run's tags at the same instant
can lose one change (Metaflow's local metadata has the same limit; its service does not).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..storage import run_tags


class RunTagging:
    """Mixed into ``client.Run``; needs ``_fresh()``, ``flow._instance``, ``id``, ``pathspec``."""

    id: str
    pathspec: str
    flow: Any

    def _fresh(self) -> Any:  # pragma: no cover - provided by Run
        raise NotImplementedError

    def _current_tags(self) -> Any:
        # _run raises a ClientError naming the run when the instance has no record of it
        return (self._fresh() or self._run).tags  # type: ignore[attr-defined]

    @property
    def dagster_tags(self) -> dict[str, str]:
        """The Dagster run's own key/value tags, as the Dagster UI shows them."""
        return dict(self._current_tags())

    @property
    def user_tags(self) -> frozenset[str]:
        return run_tags.user_tags(self._current_tags())

    @property
    def system_tags(self) -> frozenset[str]:
        record = self.flow._instance.get_run_record_by_id(self.id)
        created = record.create_timestamp.timestamp() if record is not None else None
        return run_tags.system_tags(self._current_tags(), created)

    @property
    def tags(self) -> frozenset[str]:
        """User and system tags, as Metaflow's ``Run.tags``."""
        return self.user_tags | self.system_tags

    def add_tag(self, tag: str | Iterable[str]) -> frozenset[str]:
        return self.replace_tags([], _listed(tag))

    def add_tags(self, tags: Iterable[str]) -> frozenset[str]:
        return self.replace_tags([], tags)

    def remove_tag(self, tag: str | Iterable[str]) -> frozenset[str]:
        return self.replace_tags(_listed(tag), [])

    def remove_tags(self, tags: Iterable[str]) -> frozenset[str]:
        return self.replace_tags(tags, [])

    def replace_tag(self, tag_to_remove: str | Iterable[str],
                    tag_to_add: str | Iterable[str]) -> frozenset[str]:
        return self.replace_tags(_listed(tag_to_remove), _listed(tag_to_add))

    def replace_tags(self, tags_to_remove: Iterable[str],
                     tags_to_add: Iterable[str]) -> frozenset[str]:
        """Remove, then add, in one write; returns the run's user tags afterwards. Removing a
        system tag, an empty or over-long tag, or nothing at all is refused and changes nothing."""
        result = run_tags.mutated(self.user_tags, self.system_tags, list(tags_to_remove),
                                  list(tags_to_add), f"run {self.pathspec}")
        self.flow._instance.add_run_tags(self.id, {run_tags.USER_TAGS_TAG: run_tags.encode(result)})
        return result


def _listed(tag: Any) -> list[Any]:
    """Metaflow's add_tag/remove_tag/replace_tag take one tag or (deprecated) an iterable."""
    return [tag] if isinstance(tag, (str, bytes)) or not hasattr(tag, "__iter__") else list(tag)


def has_tags(tags: frozenset[str], wanted: Iterable[str]) -> bool:
    return set(wanted) <= tags
