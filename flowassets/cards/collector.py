"""``current.card`` for flowassets' own flows, with Metaflow's rules.

``current.card.append(c)`` adds to the step's *default editable* card: the only editable card
(types ``default`` and ``blank``), or, when there are several, the only one without an ``id``.
``current.card["id"]`` reaches any card by its ``id``, editable or not. What cannot be placed is
dropped with a ``[@card WARNING]`` line, as Metaflow does: a card never fails the step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

#: Card types flowassets draws itself for its own flows (components allowed in both).
EDITABLE_TYPES = frozenset({"default", "blank"})


def warn(message: str) -> None:
    print(f"[@card WARNING] {message}", file=sys.stderr, flush=True)


@dataclass
class CardSlot:
    """One @card of the running task: its settings and the components appended so far."""

    type: str
    id: str | None
    options: dict[str, Any]
    timeout: int
    save_errors: bool
    uuid: str
    components: list[Any] = field(default_factory=list)

    @property
    def editable(self) -> bool:
        return self.type in EDITABLE_TYPES


class ComponentList:
    """What ``current.card["id"]`` returns: append, extend, clear, refresh, iterate."""

    def __init__(self, slot: CardSlot | None, reason: str = ""):
        self._slot, self._reason = slot, reason

    def append(self, component: Any, id: str | None = None) -> None:  # noqa: A002 - Metaflow's name
        if self._slot is None:
            warn(self._reason)
            return
        self._slot.components.append(component)

    def extend(self, components: Iterable[Any]) -> None:
        for component in components:
            self.append(component)

    def clear(self) -> None:
        if self._slot is not None:
            self._slot.components.clear()

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """Live updates are not streamed: the card is drawn once, when the task ends."""

    @property
    def components(self) -> list[Any]:
        return list(self._slot.components) if self._slot else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.components)

    def __len__(self) -> int:
        return len(self.components)


class CardCollector:
    """``current.card`` in a task of a step with @card."""

    def __init__(self, slots: list[CardSlot]):
        self.slots = slots

    def _default(self) -> ComponentList:
        editable = [s for s in self.slots if s.editable]
        if len(editable) > 1:
            editable = [s for s in editable if s.id is None]
        if len(editable) == 1:
            return ComponentList(editable[0])
        return ComponentList(None, "`current.card.append` needs exactly one editable card "
                             "(type default or blank) on the step, or one without an id; use "
                             "`current.card[ID].append` to choose a card. Component dropped.")

    def __getitem__(self, card_id: str) -> ComponentList:
        for slot in self.slots:
            if slot.id == card_id:
                return ComponentList(slot)
        return ComponentList(None, f"no @card(id={card_id!r}) on this step; component dropped.")

    def __setitem__(self, card_id: str, components: list[Any]) -> None:
        target = self[card_id]
        target.clear()
        target.extend(components)

    def get(self, type: str | None = None) -> list[Any]:  # noqa: A002 - Metaflow's name
        return [c for s in self.slots if type is None or s.type == type for c in s.components]

    def append(self, component: Any, id: str | None = None) -> None:  # noqa: A002
        self._default().append(component)

    def extend(self, components: Iterable[Any]) -> None:
        self._default().extend(components)

    def clear(self) -> None:
        self._default().clear()

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """A no-op: the card is drawn once, when the task ends (see README)."""

    @property
    def components(self) -> list[Any]:
        return self._default().components
