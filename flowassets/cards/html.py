"""Card JSON (Metaflow's component shapes) as one self-contained HTML page, for own flows.

No JavaScript except for Vega charts (vega-embed from a CDN, with the spec shown beneath as a
fallback). Markdown is converted by a small subset converter (headings, lists, code, emphasis,
links): enough for report text, not a full CommonMark implementation.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:
1100px;color:#1f2933;padding:0 1rem}h1.card-title{font-size:1.2rem;color:#52606d;border-bottom:
1px solid #e4e7eb;padding-bottom:.4rem}section{margin:1.4rem 0}h2{font-size:1.1rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #d9e2ec;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f0f4f8}pre{background:#f5f7fa;padding:.6rem;
overflow:auto}code{background:#f5f7fa;padding:0 .2rem}progress{width:20rem}
.artifact-name{font-weight:600}.error{color:#b42318}figure{display:inline-block;margin:.5rem}
"""
_VEGA = ('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
         '<script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>'
         '<script src="https://cdn.jsdelivr.net/npm/vega-embed@6"></script>')


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])[*_]([^*_]+)[*_](?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', text)


def markdown_to_html(source: str) -> str:
    """A small Markdown subset as HTML (see the module doc)."""
    out: list[str] = []
    paragraph: list[str] = []
    in_list = in_code = False

    def flush() -> None:
        nonlocal in_list
        if paragraph:
            out.append("<p>" + _inline(" ".join(paragraph)) + "</p>")
            paragraph.clear()
        if in_list:
            out.append("</ul>")
            in_list = False

    for line in source.splitlines():
        if line.strip().startswith("```"):
            flush()
            out.append("</code></pre>" if in_code else "<pre><code>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line) + "\n")
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        item = re.match(r"^\s*[-*+]\s+(.*)$", line)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if paragraph:
                out.append("<p>" + _inline(" ".join(paragraph)) + "</p>")
                paragraph.clear()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline(item.group(1))}</li>")
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    if in_code:
        out.append("</code></pre>")
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return component_html(value)
    return html.escape("" if value is None else str(value))


def component_html(item: Any) -> str:
    """One component dict (or plain text) as HTML."""
    if not isinstance(item, dict):
        return f"<p>{html.escape(str(item))}</p>"
    kind = item.get("type")
    if kind == "markdown":
        return markdown_to_html(item.get("source") or "")
    if kind in ("text", "title", "subtitle"):
        return f"<p>{html.escape(str(item.get('text', '')))}</p>"
    if kind == "table":
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in item.get("columns") or [])
        rows = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>"
                       for row in item.get("data") or [])
        return f"<table>{'<tr>' + head + '</tr>' if head else ''}{rows}</table>"
    if kind == "artifacts":
        rows = "".join(
            f"<tr><td class='artifact-name'>{html.escape(str(a.get('name') or ''))}</td>"
            f"<td>{html.escape(str(a.get('type', '')))}</td>"
            f"<td><pre>{html.escape(str(a.get('data', '')))}</pre></td></tr>"
            for a in item.get("data") or [])
        return f"<table>{rows}</table>"
    if kind == "image":
        label = html.escape(str(item.get("label") or ""))
        return (f"<figure><img src=\"{html.escape(str(item.get('src', '')))}\" alt=\"{label}\">"
                f"<figcaption>{label}</figcaption></figure>")
    if kind == "progressBar":
        label = html.escape(str(item.get("label") or ""))
        unit = html.escape(str(item.get("unit") or ""))
        details = html.escape(str(item.get("details") or ""))
        return (f"<p>{label} <progress max=\"{item.get('max', 100)}\" "
                f"value=\"{item.get('value', 0)}\"></progress> {item.get('value', 0)}/"
                f"{item.get('max', 100)} {unit} {details}</p>")
    if kind == "vegaChart":
        target = html.escape(str(item.get("id") or "vega"))
        spec = json.dumps(item.get("spec") or {})
        options = json.dumps(item.get("options") or {})
        return (f"<div id=\"{target}\"></div><script>if(window.vegaEmbed){{vegaEmbed('#{target}',"
                f"{spec},{options});}}</script><details><summary>chart spec</summary><pre>"
                f"{html.escape(json.dumps(item.get('spec') or {}, indent=1))}</pre></details>")
    if kind == "section":
        body = "".join(component_html(c) for c in item.get("contents") or [])
        return f"<section><h2>{html.escape(str(item.get('title') or ''))}</h2>{body}</section>"
    if kind == "error":
        return f"<pre class='error'>{html.escape(str(item.get('data', item)))}</pre>"
    return f"<pre>{html.escape(json.dumps(item, default=str)[:2000])}</pre>"


def page(title: str, components: Iterable[Any]) -> str:
    """A whole card: a title and its components, one HTML document."""
    items = list(components)
    body = "\n".join(component_html(c) for c in items)
    vega = _VEGA if _uses_vega(items) else ""
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style>{vega}</head><body><h1 class=\"card-title\">"
            f"{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _uses_vega(items: list[Any]) -> bool:
    return any(isinstance(c, dict) and (c.get("type") == "vegaChart" or (
        c.get("type") == "section" and _uses_vega(c.get("contents") or []))) for c in items)
