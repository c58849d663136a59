"""Run-directory file names occur as code literals only in dnibench/rundir/.

The layout is written once (:mod:`dnibench.rundir.layout`); a module that
spells ``"results.csv"`` itself has a second copy of the layout, and the
next rename misses it. Docstrings may name the files (they explain); code
string literals, f-string parts included, may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dnibench.rundir import layout

PACKAGE = Path(layout.__file__).resolve().parents[1]
OWNER = PACKAGE / "rundir"
NAMES = frozenset(
    {
        layout.CONFIG, layout.FINGERPRINT, layout.RESULTS, layout.CURVES, layout.RNN_CURVES,
        layout.STATUS, layout.CORPUS, layout.TRACES, layout.PYTEST_BENCHMARK, layout.REPORT_MD,
        layout.REPORT_HTML, layout.PLOTS, layout.GPU_FACTS,
    }
)  # fmt: skip


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
        # attribute docstrings: a bare string statement right after an assignment
        for field in ("body", "orelse"):
            statements = getattr(node, field, None)
            for statement in statements if isinstance(statements, list) else []:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    found.add(id(statement.value))
    return found


def _names_in(value: str) -> set[str]:
    """The layout names ``value`` spells as a path: the whole string or a path component."""
    parts = set(value.strip().replace("\\", "/").split("/"))
    return {name for name in NAMES if value.strip() == name or name in parts}


def offending_literals(path: Path) -> list[str]:
    """``file:line: 'literal'`` for each code literal of ``path`` that spells a layout name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and id(node) not in skip and _names_in(text):
            hits.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    return hits


def test_the_checker_finds_a_literal_and_ignores_docstrings(tmp_path: Path) -> None:
    sample = PACKAGE / "_sample_for_the_literal_test.py"
    text = '"""Reads results.csv."""\nPATH = "results.csv"\nOTHER = f"{1}/traces/x"\n'
    try:
        sample.write_text(text, encoding="utf-8")
        hits = offending_literals(sample)
    finally:
        sample.unlink()
    assert len(hits) == 2 and "'results.csv'" in hits[0] and "traces" in hits[1]


def test_layout_names_occur_as_code_literals_only_in_the_rundir_package() -> None:
    hits = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if OWNER not in path.parents
        for hit in offending_literals(path)
    ]
    assert hits == [], "use dnibench.rundir.layout instead of:\n" + "\n".join(hits)
