"""Where suites come from: ./suites first, then the checkout's, then a wheel's copy.

The wheel test builds and installs the real wheel (tools/wheel_check.sh
--list-only, a few seconds) and reads what it carries, since the packaging
hook in setup.py is only proven by a wheel that was actually built.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from dnibench.suites import find_suite, package_suites_dir, suite_origin, suite_paths
from dnibench.suites.loader import SHIPPED_DIR, checkout_suites_dir

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "wheel_check.sh"
QUICK = "[suite]\ndescription = 'my own quick'\n\n[[benchmark]]\nname = 'a'\nkind = 'train'\n"


def test_a_checkout_reads_its_own_suites_folder() -> None:
    assert checkout_suites_dir() == REPO / "suites"
    assert package_suites_dir() == REPO / "suites"
    assert not SHIPPED_DIR.exists(), "a copy of the suites was left inside the package"


def test_working_directory_suites_win_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "quick.toml").write_text(QUICK)
    monkeypatch.chdir(tmp_path)
    assert find_suite("quick") == tmp_path / "suites" / "quick.toml"
    assert suite_origin(find_suite("quick")) == "./suites"
    assert suite_origin(find_suite("pipeline")) == "checkout"
    assert suite_origin(tmp_path / "suites" / ".." / "x.toml") == "x.toml"
    assert set(suite_paths()) >= {"quick", "pipeline", "ff"}


def test_the_wheel_carries_the_suites_and_lists_them_outside_the_checkout(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--list-only", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheel").glob("dnibench-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {n for n in names if n.startswith("dnibench/suites/shipped/")}
        expected = {f"dnibench/suites/shipped/{p.name}" for p in (REPO / "suites").glob("*.toml")}
        assert shipped == expected
        for name in shipped:
            assert archive.read(name) == (REPO / "suites" / Path(name).name).read_bytes()
        assert "dnibench/export/pytest_benchmark.py" in names
        assert not any(n.startswith(("tests/", "suites/", "reports/")) for n in names)
    listed = {line.split()[0]: line for line in result.stdout.splitlines() if "benchmarks," in line}
    assert set(listed) == {p.stem for p in (REPO / "suites").glob("*.toml")}
    assert all(" package " in line for line in listed.values())
