"""Card components for flowassets' own API: ``current.card.append(Markdown("# Hi"))``.

Each component turns into the same JSON shape as Metaflow's component of that name (the shape
Metaflow's card bundle draws), so one HTML writer (``html.py``) and one Markdown summary for the
Dagster UI (``summary.py``) serve cards of both APIs. Nothing here imports Metaflow.
"""

from __future__ import annotations

import base64
import reprlib
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


def _component_id(kind: str) -> str:
    return f"{kind.lower()}_{uuid.uuid4().hex[:6]}"


def short_repr(value: Any, limit: int = 300) -> str:
    """A bounded repr (Metaflow's Artifact component truncates with reprlib too)."""
    shortener = reprlib.Repr()
    shortener.maxstring, shortener.maxother, shortener.maxlist = limit, limit, 20
    try:
        text = shortener.repr(value)
    except Exception:  # noqa: BLE001 - a user object whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Component:
    """Base of the components: ``render()`` gives the JSON-able dict a card keeps."""

    kind = "component"

    def render(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass
class Markdown(Component):
    """Markdown text (headings, lists, emphasis, code, links)."""

    text: str
    kind = "markdown"

    def update(self, text: str) -> None:
        self.text = text

    def render(self) -> dict[str, Any]:
        return {"type": "markdown", "source": str(self.text), "id": _component_id("markdown")}


@dataclass
class Artifact(Component):
    """Any Python value, shown as a shortened repr with its type."""

    artifact: Any
    name: str | None = None
    compressed: bool = True
    kind = "artifact"

    def update(self, artifact: Any) -> None:
        self.artifact = artifact

    def render(self) -> dict[str, Any]:
        text = short_repr(self.artifact) if self.compressed else repr(self.artifact)
        return {"type": "artifacts", "id": _component_id("artifact"),
                "data": [{"name": self.name, "type": type(self.artifact).__name__, "data": text}]}


def _cell(value: Any) -> Any:
    if isinstance(value, Component):
        return value.render()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return short_repr(value, 120)


@dataclass
class Table(Component):
    """Rows of cells (text, numbers, or other components) under optional headers.
    ``Table.from_dataframe(df)`` takes a pandas DataFrame (first ``max_rows`` rows)."""

    data: Sequence[Sequence[Any]] = field(default_factory=list)
    headers: Sequence[str] = field(default_factory=list)
    kind = "table"

    @classmethod
    def from_dataframe(cls, dataframe: Any, max_rows: int = 100) -> "Table":
        head = dataframe.head(max_rows)
        return cls([list(row) for row in head.itertuples(index=False)],
                   [str(c) for c in head.columns])

    def render(self) -> dict[str, Any]:
        return {"type": "table", "id": _component_id("table"), "vertical": False,
                "columns": [str(h) for h in self.headers],
                "data": [[_cell(c) for c in row] for row in self.data]}


@dataclass
class Image(Component):
    """An image from bytes (PNG, JPEG, GIF, SVG): ``Image(png_bytes, label="loss")``.
    ``Image.from_matplotlib(fig)`` takes a matplotlib figure."""

    src: bytes
    label: str | None = None
    kind = "image"

    @classmethod
    def from_matplotlib(cls, figure: Any, label: str | None = None) -> "Image":
        import io

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return cls(buffer.getvalue(), label)

    def render(self) -> dict[str, Any]:
        data = bytes(self.src)
        mime = ("image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
                if data.startswith(b"\xff\xd8") else "image/gif" if data.startswith(b"GIF8")
                else "image/svg+xml" if data.lstrip().startswith((b"<svg", b"<?xml")) else
                "application/octet-stream")
        return {"type": "image", "id": _component_id("image"), "label": self.label,
                "src": f"data:{mime};base64,{base64.b64encode(data).decode()}"}


@dataclass
class VegaChart(Component):
    """A Vega or Vega-Lite chart from its spec (a dict), as Metaflow's VegaChart."""

    spec: Mapping[str, Any]
    show_controls: bool = False
    kind = "vegaChart"

    def update(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    def render(self) -> dict[str, Any]:
        found = {"type": "vegaChart", "id": _component_id("vegachart"), "spec": dict(self.spec)}
        if not self.show_controls:
            found["options"] = {"actions": False}
        return found


@dataclass
class ProgressBar(Component):
    """A progress bar: ``ProgressBar(max=100, label="epochs", value=30)``."""

    max: int = 100
    label: str | None = None
    value: int = 0
    unit: str | None = None
    metadata: str | None = None
    kind = "progressBar"

    def update(self, new_value: int, metadata: str | None = None) -> None:
        self.value = new_value
        if metadata is not None:
            self.metadata = metadata

    def render(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "progressBar", "id": _component_id("progressbar"),
                                 "max": self.max, "value": self.value}
        for key, value in (("label", self.label), ("unit", self.unit), ("details", self.metadata)):
            if value:
                found[key] = value
        return found


def render_component(component: Any) -> Any:
    """One appended object as card JSON: a component's dict, text as Markdown-free text, and
    anything else as an Artifact (Metaflow renders a plain value the same way)."""
    if isinstance(component, Component):
        return component.render()
    if isinstance(component, str):
        return {"type": "text", "text": component}
    return Artifact(component).render()
