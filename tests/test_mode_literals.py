"""Mode names are written once: as code literals only in the table of modes and in regimes/.

Everything else names a mode through :mod:`dnibench.modes` (``modes.DNI.name``,
``unlocked_mode_names()``), so adding or renaming a mode is one row. Docstrings
may mention modes; ``__all__`` lists Python names (the builder ``dni``), not modes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dnibench.modes import BENCH_MODES

PACKAGE = Path(__file__).resolve().parents[1] / "dnibench"
#: Where mode names may be written: the table, and the regimes (dni, cdni, unlock).
ALLOWED = (PACKAGE / "modes.py", PACKAGE / "regimes")


def _exempt(tree: ast.AST) -> set[int]:
    """Ids of the string constants that are docstrings or ``__all__`` entries."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            exempt.add(id(node.value))
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            exempt.update(id(n) for n in ast.walk(node.value))
    return exempt


def mode_literals(path: Path) -> list[tuple[int, str]]:
    """(line, name) of each string literal in ``path`` equal to a mode name, in line order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt = _exempt(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in BENCH_MODES
        and id(node) not in exempt
    )


def test_mode_names_are_literals_only_in_the_table_and_regimes() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path == allowed or allowed in path.parents for allowed in ALLOWED)
        for line, name in mode_literals(path)
    ]
    assert not found, "name these through dnibench.modes:\n" + "\n".join(found)


def test_the_check_sees_keys_defaults_and_f_string_parts(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A docstring naming dni is fine."""\n'
        '__all__ = ["dni"]\n'
        'X = {"cdni": 1}\n'
        'def f(mode: str = "gpipe") -> str:\n'
        '    """So is this one, about zb."""\n'
        '    return f"{mode}" + "torch-zb"\n',
        encoding="utf-8",
    )
    assert mode_literals(sample) == [(3, "cdni"), (4, "gpipe"), (6, "torch-zb")]
