"""Shared figure plumbing: the Agg backend, one style, consistent colours, saving.

The Agg backend is selected here, before pyplot or seaborn are imported
anywhere in the report package, so plots render on headless machines (CI,
cluster nodes) without a display. Figures are built as
:class:`matplotlib.figure.Figure` objects rather than through pyplot's global
state, so making a report never leaks open figures into a caller's session,
and styles are applied in a context rather than with ``sns.set_theme`` so
the caller's rcParams are left as they were.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["DPI", "KIND_COLOURS", "figure", "palette", "save", "styled"]

#: Resolution of saved figures: readable in a browser without huge files.
DPI = 110

_CB = sns.color_palette("colorblind")
#: Colours of a stage's time split, shared by the idle bars and the timeline.
KIND_COLOURS = {
    "busy": _CB[2],
    "compute": _CB[2],
    "wait activation": _CB[1],
    "wait gradient": _CB[3],
    "wait": _CB[3],
    "comm": _CB[0],
    "other": (0.7, 0.7, 0.7),
}


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """Seaborn's whitegrid style and a compact font, for figures made inside the block.

    Mathtext is off: benchmark names are data, and one like ``a$\\frac$`` must
    show as typed instead of failing to parse as TeX at save time.
    """
    with (
        sns.axes_style("whitegrid"),
        sns.plotting_context("notebook", font_scale=0.85),
        matplotlib.rc_context({"text.parse_math": False}),
    ):
        yield


def figure(width: float, height: float) -> Figure:
    """A new figure with constrained layout (labels never overlap), detached from pyplot."""
    return Figure(figsize=(width, height), layout="constrained")


def palette(names: Iterable[str]) -> dict[str, tuple[float, float, float]]:
    """One stable colour per name (sorted), so a mode keeps its colour across figures."""
    ordered = sorted(set(names))
    colours = sns.color_palette("tab10", max(len(ordered), 1))
    if len(ordered) > 10:
        colours = sns.color_palette("husl", len(ordered))
    return {name: tuple(colours[i]) for i, name in enumerate(ordered)}


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents created) and return the path.

    Through the run directory's writer: atomic, and never through a symlink
    planted for ``path`` or its folder (``plots/``).
    """
    from dnibench.rundir import writer

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    return writer.write_bytes(path, buffer.getvalue())


def bar_height(count: int, per_bar: float = 0.3, base: float = 1.6) -> float:
    """Figure height in inches for ``count`` horizontal bars, so labels stay legible."""
    return base + per_bar * max(count, 1)
