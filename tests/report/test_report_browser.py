"""report.html in a real headless Chromium: every figure loads, and the page renders.

The page's inline script writes ``data-images-loaded="N/M"`` on <body> once
all images have settled; ``--dump-dom`` returns the DOM after the script ran,
so a broken or mistyped image path shows as N < M.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dnibench.report import write_reports
from dnibench.studies.registry import report_hooks

TIMEOUT_S = 60
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_binary() -> str | None:
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "no chromium binary (/usr/bin/chromium or chromium on PATH); "
            "install it with `apt-get install -y chromium` to run the browser checks"
        )
    return binary


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium call with its own throw-away profile and a hard timeout."""
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def images_loaded(binary: str, profile: Path, page: Path) -> str:
    done = run_chromium(binary, profile, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    body = re.search(r"<body[^>]*>", done.stdout)
    assert body is not None, f"no <body> in the dumped DOM; stderr: {done.stderr[-2000:]}"
    found = re.search(r'data-images-loaded="([^"]*)"', body.group(0))
    assert found is not None, f"the image check never ran: {body.group(0)}"
    return found.group(1)


@pytest.fixture(scope="module")
def report(
    run_writer: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int]:
    """One report for the module; a space in its path, as file:// URLs must handle."""
    run_dir = run_writer(tmp_path_factory.mktemp("browser") / "browser run")
    _, html = write_reports(
        run_dir, command="dnibench bench", extra_markdown="## Targets\n", hooks=report_hooks()
    )
    plots = len(list((run_dir / "plots").glob("*.png")))
    assert plots == 5
    assert html.read_text().count("<img ") == plots
    return html, plots


def test_every_image_loads(chromium: str, report: tuple[Path, int], tmp_path: Path) -> None:
    html, plots = report
    assert images_loaded(chromium, tmp_path / "profile", html) == f"{plots}/{plots}"


def test_a_missing_image_is_counted(
    chromium: str, report: tuple[Path, int], tmp_path: Path
) -> None:
    html, plots = report
    copy = shutil.copytree(html.parent, tmp_path / "copy")
    (copy / "plots" / "memory.png").unlink()
    page = copy / html.name
    assert images_loaded(chromium, tmp_path / "profile", page) == f"{plots - 1}/{plots}"


def test_screenshot(
    chromium: str,
    report: tuple[Path, int],
    tmp_path: Path,
    png_ok: Callable[[Path], bool],
) -> None:
    html, _ = report
    shot = tmp_path / "shot.png"
    done = run_chromium(
        chromium,
        tmp_path / "profile",
        "--virtual-time-budget=5000",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        html.as_uri(),
    )
    assert shot.is_file(), f"no screenshot; stderr: {done.stderr[-2000:]}"
    assert png_ok(shot, 20_000)
    data = shot.read_bytes()
    assert int.from_bytes(data[16:20], "big") == 1200
    assert int.from_bytes(data[20:24], "big") == 2000
