"""A report as a list of blocks, so Markdown and HTML are two renderings of one content.

Reports are assembled once as blocks (headings, text, tables, images,
preformatted text and caller-supplied Markdown); :mod:`markdown` and
:mod:`html` each turn the same list into their format and own the escaping,
which keeps the two files from drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnibench.report.tables import Table

__all__ = ["Block", "Heading", "Image", "Markdown", "Paragraph", "Preformatted", "Table"]


@dataclass
class Heading:
    """A section title; ``level`` 1 is the document title."""

    text: str
    level: int = 2


@dataclass
class Paragraph:
    """Plain text (escaped by the renderer, never interpreted as markup)."""

    text: str


@dataclass
class Preformatted:
    """Text shown verbatim in a fixed-width block: a command, JSON."""

    text: str


@dataclass
class Image:
    """A figure: ``src`` relative to the report file (``plots/x.png``), alt text, caption."""

    src: str
    alt: str
    caption: str = ""


@dataclass
class Markdown:
    """Markdown written by a caller (target tables); passed through or converted to HTML."""

    text: str


Block = Heading | Paragraph | Preformatted | Image | Markdown | Table
