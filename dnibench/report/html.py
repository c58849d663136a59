"""Self-contained HTML rendering of report blocks.

The page carries its CSS inline and loads nothing from the network (reports
are opened from disk, on machines without internet); only the PNGs in
``plots/`` are referenced, by relative path, so the run directory can be
moved or archived as a whole. Every piece of text from the run goes through
:func:`html.escape`.

A tiny inline script records, once every image has loaded or failed, how
many rendered (``naturalWidth > 0``) as ``data-images-loaded="N/M"`` on
``<body>``: a headless browser can then check that no figure is broken.

Caller Markdown (target tables) is converted by a deliberately small
converter: headings, pipe tables, lists, fenced code, paragraphs, inline
code and bold, which is all the reports use.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from dnibench.report.document import (
    Block,
    Heading,
    Image,
    Markdown,
    Paragraph,
    Preformatted,
    Table,
)

__all__ = ["IMAGES_SCRIPT", "markdown_to_html", "render_html", "render_table"]

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1400px; color: #1b1f24; }
h1 { font-size: 1.7rem; border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; vertical-align: top; }
th { background: #f3f5f7; text-align: left; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
td.r { white-space: nowrap; }
.scroll { overflow-x: auto; }
pre { background: #f3f5f7; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 90%; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e8eb; }
figcaption { color: #57606a; font-size: 13px; margin-top: .3rem; }
"""

#: Sets ``body[data-images-loaded]`` to "loaded/total" once every <img> has settled.
IMAGES_SCRIPT = """
(function () {
  var images = Array.prototype.slice.call(document.images);
  var pending = images.length;
  function settle() {
    var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
    document.body.dataset.imagesLoaded = ok.length + "/" + images.length;
  }
  function done() { pending -= 1; if (pending === 0) { settle(); } }
  if (pending === 0) { settle(); return; }
  images.forEach(function (image) {
    if (image.complete) { done(); return; }
    image.addEventListener("load", done, { once: true });
    image.addEventListener("error", done, { once: true });
  });
})();
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def render_table(table: Table) -> str:
    """An HTML table; right-aligned columns get ``class="r"``."""

    def cls(i: int) -> str:
        return ' class="r"' if i < len(table.align) and table.align[i] == "r" else ""

    head = "".join(f"<th{cls(i)}>{_e(c)}</th>" for i, c in enumerate(table.columns))
    body = "\n".join(
        "<tr>" + "".join(f"<td{cls(i)}>{_e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _inline(text: str) -> str:
    """Escape ``text`` and apply inline code and bold; code spans are not further parsed."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]+`)", text)):
        if i % 2:
            out.append(f"<code>{_e(part[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", _e(part)))
    return "".join(out)


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


_ITEM = re.compile(r"^[-*+]\s+")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _table(lines: list[str]) -> str:
    head = _cells(lines[0])
    align = ["r" if c.strip().endswith(":") else "l" for c in _cells(lines[1])]
    width = max([len(head)] + [len(_cells(line)) for line in lines[2:]])
    align += ["l"] * (width - len(align))

    def row(cells: list[str], tag: str) -> str:
        cells = cells + [""] * (width - len(cells))
        classes = [' class="r"' if a == "r" else "" for a in align]
        inner = "".join(f"<{tag}{classes[i]}>{_inline(c)}</{tag}>" for i, c in enumerate(cells))
        return f"<tr>{inner}</tr>"

    body = "\n".join(row(_cells(line), "td") for line in lines[2:])
    return (
        f'<div class="scroll"><table>\n<thead>{row(head, "th")}</thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def markdown_to_html(text: str) -> str:
    """Convert the small Markdown subset reports use; everything else stays escaped text."""
    lines = text.splitlines()
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        fence = re.match(r"^(`{3,}|~{3,})", stripped)
        if fence:
            flush()
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
                end += 1
            out.append(f"<pre><code>{_e(chr(10).join(lines[i + 1 : end]))}</code></pre>")
            i = end + 1
        elif heading := re.match(r"^(#{1,6})\s+(.*?)\s*#*$", stripped):
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif stripped.startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            flush()
            end = i + 2
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            out.append(_table(lines[i:end]))
            i = end
        elif _ITEM.match(stripped):
            flush()
            items = []
            while i < len(lines) and (item := _ITEM.match(lines[i].strip())):
                items.append(f"<li>{_inline(lines[i].strip()[item.end() :])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif not stripped:
            flush()
            i += 1
        else:
            para.append(stripped)
            i += 1
    flush()
    return "\n".join(out)


def _render(block: Block) -> str:
    if isinstance(block, Heading):
        level = max(1, min(block.level, 6))
        return f"<h{level}>{_e(block.text)}</h{level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, Preformatted):
        return f"<pre><code>{_e(block.text)}</code></pre>"
    if isinstance(block, Image):
        caption = f"<figcaption>{_e(block.caption)}</figcaption>" if block.caption else ""
        return f'<figure><img src="{_e(block.src)}" alt="{_e(block.alt)}">{caption}</figure>'
    if isinstance(block, Markdown):
        return markdown_to_html(block.text)
    if isinstance(block, Table):
        return render_table(block)
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(blocks: Sequence[Block], title: str) -> str:
    """A complete HTML5 page: inline CSS, the blocks, the image-check script."""
    body = "\n".join(_render(block) for block in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n<script>{IMAGES_SCRIPT}</script>\n</body>\n</html>\n"
    )
