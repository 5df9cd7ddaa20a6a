"""A card's text and tables as Markdown, shown inline on the step in the Dagster UI.

Works on Metaflow's component JSON shapes, so it summarizes cards of both APIs: Markdown is kept
as written, tables become Markdown tables, artifacts ``name (type): value``, and what Markdown
cannot show (images, charts) is named with a pointer to the card file.
"""

from __future__ import annotations

from typing import Any, Iterable

MAX_CHARS = 8000
MAX_ROWS = 30


def _cell_text(value: Any) -> str:
    if isinstance(value, dict):
        if value.get("type") == "markdown":
            text = str(value.get("source") or "").strip()
        elif value.get("type") == "text":
            text = str(value.get("text") or "")
        else:
            text = f"({value.get('type', 'component')})"
    else:
        text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def _table(columns: list[Any], rows: list[list[Any]]) -> str:
    width = max([len(columns)] + [len(r) for r in rows] or [1])
    headers = [_cell_text(c) for c in columns] or [" "] * width
    headers += [" "] * (width - len(headers))
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * width]
    for row in rows[:MAX_ROWS]:
        cells = [_cell_text(c) for c in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > MAX_ROWS:
        lines.append(f"\n*{len(rows) - MAX_ROWS} more rows in the card*")
    return "\n".join(lines)


def component_markdown(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    kind = item.get("type")
    if kind == "markdown":
        return str(item.get("source") or "").strip()
    if kind in ("text", "title", "subtitle"):
        return str(item.get("text") or "")
    if kind == "table":
        return _table(list(item.get("columns") or []), [list(r) for r in item.get("data") or []])
    if kind == "artifacts":
        return "\n".join(f"- `{a.get('name') or 'value'}` ({a.get('type', '?')}): "
                         f"`{str(a.get('data', '')).replace('`', chr(39))[:300]}`"
                         for a in item.get("data") or [])
    if kind == "progressBar":
        return (f"{item.get('label') or 'progress'}: {item.get('value', 0)} / "
                f"{item.get('max', 100)} {item.get('unit') or ''}".rstrip())
    if kind == "image":
        return f"*(image{': ' + str(item['label']) if item.get('label') else ''}: see the card)*"
    if kind == "vegaChart":
        return "*(chart: see the card)*"
    if kind == "section":
        inner = "\n\n".join(component_markdown(c) for c in item.get("contents") or [])
        return f"**{item['title']}**\n\n{inner}" if item.get("title") else inner
    return f"*({kind}: see the card)*"


def card_markdown(title: str, components: Iterable[Any],
                  artifacts: list[tuple[str, str, str]] | None = None) -> str:
    """The Markdown text of one card: its components, then (for a default card) the task's
    artifacts as a table of name, type and shortened value."""
    parts = [f"**{title}**"]
    parts += [text for text in (component_markdown(c) for c in components) if text]
    if artifacts:
        parts.append(_table(["artifact", "type", "value"], [list(a) for a in artifacts]))
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 40] + "\n\n*(shortened; see the card)*"
