"""report.md and report.html: content, references to every figure, escaping, well-formedness."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dnibench.report import load_run, write_reports
from dnibench.report.html import markdown_to_html
from dnibench.report.markdown import escape_text
from dnibench.report.tables import pipeline_table, training_table
from dnibench.studies.registry import report_hooks

HOSTILE = "<script>alert(1)</script>"
TARGETS = """## Targets

| target | measured | verdict |
|---|---:|---|
| dni-m8 efficiency | 0.935 | **met** |
"""
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


class TagChecker(HTMLParser):
    """Checks that every non-void element is closed in order, and collects img sources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "script":
            self.scripts += 1
            assert not attrs, "scripts must be inline, nothing loaded from elsewhere"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    return checker


@pytest.fixture(scope="module")
def reports(
    run_writer: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """One full report (read only in the tests), built once for the module."""
    run_dir = run_writer(
        tmp_path_factory.mktemp("html") / "run", pipelines=("gpipe-m8", "dni-m8", HOSTILE)
    )
    md, html = write_reports(
        run_dir, title="Report <T> & co", command="dnibench bench --out 'x y'",
        extra_markdown=TARGETS, hooks=report_hooks(),
    )  # fmt: skip
    assert (md, html) == (run_dir / "report.md", run_dir / "report.html")
    return run_dir, md.read_text(), html.read_text()


def test_every_plot_is_referenced_by_relative_path(reports: tuple[Path, str, str]) -> None:
    run_dir, md, html = reports
    pngs = sorted(p.name for p in (run_dir / "plots").glob("*.png"))
    assert pngs == sorted(
        ["throughput.png", "lock_idle.png", "timeline.png", "learning_curves.png", "memory.png"]
    )
    md_refs = re.findall(r"!\[[^\]]*\]\((plots/[^)]+)\)", md)
    checker = parse(html)
    html_refs = [image["src"] for image in checker.images]
    assert sorted(md_refs) == sorted(html_refs) == [f"plots/{p}" for p in pngs]
    assert all(image.get("alt") for image in checker.images)


def test_html_is_well_formed_and_escapes_run_text(reports: tuple[Path, str, str]) -> None:
    _, _, html = reports
    checker = parse(html)
    assert checker.errors == []
    assert checker.stack == []
    assert checker.scripts == 1  # only the image check; the hostile name stays text
    assert html.count("<script>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    text = "".join(checker.text)
    assert HOSTILE in text  # shown literally to the reader
    assert "Report <T> & co" in text
    assert "data-images-loaded" not in html  # set at run time by the script only
    assert "imagesLoaded" in html and "naturalWidth" in html
    assert "http://" not in html and "https://" not in html


def test_markdown_escapes_run_text(reports: tuple[Path, str, str]) -> None:
    _, md, _ = reports
    assert HOSTILE not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "needs m &gt;= stages &lt;b&gt;bold&lt;/b&gt; \\| pipe" in md
    assert escape_text("a_b *c* [d]") == "a_b \\*c\\* \\[d\\]"


def test_sections_in_reading_order(reports: tuple[Path, str, str]) -> None:
    _, md, html = reports
    order = [
        "# Report &lt;T&gt; &amp; co", "## Command to reproduce", "## Summary",
        "### Pipeline benchmarks", "### Training benchmarks", "## Targets", "## Plots",
        "## Not measured", "## Environment",
    ]  # fmt: skip
    positions = [md.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert "```\ndnibench bench --out 'x y'\n```" in md
    assert "| torch-gpipe-m1 | skipped | 1 |" in md
    assert "Test CPU &lt;fast&gt;" in md
    assert TARGETS.strip() in md
    assert "<pre><code>dnibench bench --out &#x27;x y&#x27;</code></pre>" in html
    assert "<td>dni-m8 efficiency</td>" in html and "<strong>met</strong>" in html
    assert "<h2>Not measured</h2>" in html and "Test CPU &lt;fast&gt;" in html


def test_summary_tables(make_run: Callable[..., Path]) -> None:
    run = load_run(make_run())
    pipe = pipeline_table(run)
    assert pipe is not None
    gpipe = dict(zip(pipe.columns, pipe.rows[0], strict=True))
    assert gpipe["benchmark"] == "gpipe-m8"
    assert gpipe["repeats"] == "2"
    assert gpipe["throughput (samples/s)"] == "2020"  # median of 2000 and 2040
    assert gpipe["efficiency"] == "0.900"
    assert gpipe["busy by stage"] == "0.70 / 0.80"
    assert gpipe["lock idle by stage"] == "0.20 / 0.10"
    assert gpipe["peak RSS MiB by stage"] == "450 / 460"
    train = training_table(run)
    assert train is not None
    rows = {row[0]: dict(zip(train.columns, row, strict=True)) for row in train.rows}
    assert rows["train-backprop"]["final test accuracy"] == "0.9050 ± 0.0071"
    assert rows["train-backprop"]["samples to target"] == "1280"
    assert rows["train-dni"]["samples to target"] == "1280 (1/2 reached)"


@pytest.mark.parametrize("kind", ["pipeline", "training"])
def test_single_kind_runs(make_run: Callable[..., Path], kind: str) -> None:
    options = {"trainings": ()} if kind == "pipeline" else {"pipelines": ()}
    run_dir = make_run(failed=False, **options)
    (run_dir / "fingerprint.json").unlink()
    md, html = write_reports(run_dir)
    text = md.read_text()
    assert text.startswith(f"# dnibench report: {run_dir.name}\n")
    assert ("### Pipeline benchmarks" in text) == (kind == "pipeline")
    assert ("### Training benchmarks" in text) == (kind == "training")
    assert "every benchmark in status.csv finished ok" in text
    assert "no fingerprint.json" in text
    assert "Command to reproduce" not in text
    assert parse(html.read_text()).errors == []


def test_markdown_subset_to_html() -> None:
    out = markdown_to_html(
        "# T\n\ntext `a<b>` **bold**\n\n- one\n- two\n\n```\n<x>\n```\n\n| a | b |\n|---|--:|\n"
        "| 1 \\| 2 | 3 |\n"
    )
    assert "<h1>T</h1>" in out
    assert "<p>text <code>a&lt;b&gt;</code> <strong>bold</strong></p>" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<pre><code>&lt;x&gt;</code></pre>" in out
    assert '<td>1 | 2</td><td class="r">3</td>' in out
    assert parse(out).errors == []
