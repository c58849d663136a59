"""The command line: a real run, and every user mistake gives exit 2 with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dnibench.cli import main


def test_train_prints_curves_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "curves.json"
    status = main(
        ["train", "--mode", "backprop,dni", "--stages", "2", "--steps", "40", "--eval-every", "20",
         "--json", str(out)]
    )  # fmt: skip
    assert status == 0
    text = capsys.readouterr().out
    assert "mode dni, 2 stages" in text and "summary" in text
    payload = json.loads(out.read_text())
    assert [run["mode"] for run in payload] == ["backprop", "dni"]
    assert [point["step"] for point in payload[1]["curve"]] == [20, 40]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "resnet"], "unknown model 'resnet'; valid models: conv, conv1d, gpt, lstm,"),
        (["--data", "mnist2"], "unknown data 'mnist2'; valid datas: cifar10, digits,"),
        (["--mode", "dnii"], "unknown mode 'dnii'; valid modes: backprop, cdni, dgl, dni,"),
        (["--stages", "9"], "has 4 blocks (layers); it cannot be split into 9 stages"),
        (["--stages", "3", "--balance", "2,0,2"], "stage 2 would be empty"),
        (["--data", "mnist"], "needs --data-dir DIR"),
        (["--steps", "0"], "expected a number >= 1"),
        (["--balance", "1,x"], "comma-separated whole numbers"),
        (["--microbatches", "100"], "--microbatches 100 exceeds --batch-size 64"),
    ],
)
def test_user_mistakes_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(["train", "--steps", "2", *argv]))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["train", "--data", "cifar10", "--data-dir", str(tmp_path), "--steps", "1"])
    assert status == 2
    err = capsys.readouterr().err
    assert "data_batch_1.bin" in err and str(tmp_path) in err


def test_malformed_data_file_is_reported_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01garbage")
    done = subprocess.run(
        [sys.executable, "-m", "dnibench", "train", "--data", "mnist", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "train-images-idx3-ubyte" in done.stderr


def test_a_model_too_large_to_allocate_is_a_clear_error(capsys: pytest.CaptureFixture) -> None:
    """Issue 20, defect 14: ``--width 10000000`` was a traceback."""
    assert main(["train", "--width", "10000000", "--steps", "2", "--mode", "backprop"]) == 2
    err = capsys.readouterr().err
    assert "the mlp model at --width 10000000" in err and "does not fit in memory" in err


@pytest.mark.parametrize("flag", ["--lr", "--sg-lr", "--si-lr", "--sg-scale"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_numbers_must_be_finite(flag: str, value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--steps", "2", flag, value])
    assert exited.value.code == 2
    assert f"argument {flag}: expected a finite number" in capsys.readouterr().err
