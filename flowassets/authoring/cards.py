"""``@card`` content as Dagster op metadata: Markdown and tables, rendered in the Dagster UI.

Metaflow renders cards to HTML files; Dagster already renders Markdown metadata on each step,
so a card here is Markdown appended with ``current.card.append(...)`` and shown on the op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class Markdown:
    text: str

    def render(self) -> str:
        return self.text


@dataclass(frozen=True)
class Table:
    data: Sequence[Sequence[Any]]
    headers: Sequence[str] = ()

    def render(self) -> str:
        width = len(self.headers) or max((len(r) for r in self.data), default=0)
        headers = list(self.headers) or [""] * width
        rows = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * width]
        rows += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in self.data]
        return "\n".join(rows)


class CardCollector:
    """``current.card``: what the step appended, in order."""

    def __init__(self) -> None:
        self.components: list[Any] = []

    def append(self, component: Any) -> None:
        self.components.append(component)

    def extend(self, components: Sequence[Any]) -> None:
        self.components.extend(components)

    def clear(self) -> None:
        self.components.clear()

    def render(self) -> str | None:
        if not self.components:
            return None
        parts = [c.render() if hasattr(c, "render") else str(c) for c in self.components]
        return "\n\n".join(parts)
