"""Markdown rendering of report blocks.

Text from the run (benchmark names, failure messages) is escaped so that a
name such as ``<script>`` or one containing ``|`` shows literally instead of
becoming HTML or breaking a table when the Markdown is viewed on a forge.
"""

from __future__ import annotations

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

__all__ = ["escape_text", "render_markdown", "render_table"]

_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_INLINE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_text(text: str) -> str:
    """``text`` safe as Markdown inline content: no raw HTML, no emphasis markers."""
    out = text.translate(_INLINE)
    for char in ("\\", "`", "*", "[", "]"):
        out = out.replace(char, "\\" + char)
    # Underscores inside words never start emphasis (CommonMark), so world_size stays readable.
    return _LONE_UNDERSCORE.sub(r"\\_", out)


def _cell(text: str) -> str:
    return escape_text(" ".join(str(text).split())).replace("|", "\\|") or " "


def render_table(table: Table) -> str:
    """A pipe table; right-aligned columns get ``---:``."""
    head = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---:" if a == "r" else "---" for a in table.align) + "|"
    body = ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join([head, rule, *body])


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside ``text``."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _render(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * max(1, min(block.level, 6)) + " " + escape_text(block.text)
    if isinstance(block, Paragraph):
        return escape_text(block.text)
    if isinstance(block, Preformatted):
        fence = _fence(block.text)
        return f"{fence}\n{block.text}\n{fence}"
    if isinstance(block, Image):
        alt = escape_text(block.alt)
        image = f"![{alt}]({block.src.replace(' ', '%20')})"
        return f"{image}\n\n{escape_text(block.caption)}" if block.caption else image
    if isinstance(block, Markdown):
        return block.text.strip("\n")
    if isinstance(block, Table):
        return render_table(block)
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_markdown(blocks: Sequence[Block]) -> str:
    """The whole document, blocks separated by blank lines, ending in a newline."""
    parts = [_render(block) for block in blocks]
    return "\n\n".join(p for p in parts if p) + "\n"
