"""A one-process benchmark (train, rnn, copy) that hangs fails within its timeout_s.

Issue 20, defect 8: such a hang was noticed only after the session's fixed
600 s limit, and the train and rnn kinds had no timeout at all.
"""

from __future__ import annotations

import csv
import signal
import time
from pathlib import Path

import pytest
import torch

from dnibench.bench.session import run_session
from dnibench.errors import UserError
from dnibench.rundir.layout import STATUS
from dnibench.runtimes.one_process import HANG_SIGNAL, BenchmarkHung, watched
from dnibench.studies.item import Item
from dnibench.suites import load_suite


def _one_step() -> None:
    weight = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    weight.sum().backward()
    optimizer.step()


@pytest.fixture(autouse=True)
def _imported() -> None:
    """Lazy imports done before a short timeout starts: a hang raised inside an import would
    leave a module half-imported for the tests after this one."""
    from dnibench.data import load_dataset

    _one_step()
    load_dataset("digits")


def test_a_block_that_stops_stepping_raises_hung_in_its_own_thread() -> None:
    before = signal.getsignal(HANG_SIGNAL)
    expected = r"^toy hung: no training step for \d+ s \(timeout_s 1\)"
    with pytest.raises(BenchmarkHung, match=expected), watched("toy", 1.0):
        _one_step()
        for _ in range(600):  # a hang in Python: 60 s at most if nothing stops it
            time.sleep(0.1)
    assert signal.getsignal(HANG_SIGNAL) is before  # the handler and the step hook are gone


def test_a_finished_block_leaves_nothing_armed() -> None:
    import torch.optim.optimizer as optimizers

    before = signal.getsignal(HANG_SIGNAL)
    hooks = len(optimizers._global_optimizer_post_hooks)
    with watched("toy", 30.0):
        assert len(optimizers._global_optimizer_post_hooks) == hooks + 1
        _one_step()
    assert signal.getsignal(HANG_SIGNAL) is before
    assert len(optimizers._global_optimizer_post_hooks) == hooks


SUITE = """
[suite]
description = "a hanging training run and a hanging character LM"

[[benchmark]]
name = "ff-hang"
kind = "train"
data = "digits"
steps = 2000
eval_every = 1000
timeout_s = 2

[[benchmark]]
name = "lm-hang"
kind = "rnn"
data = "text"
text_path = "{book}"
width = 8
batch_size = 4
chars = 4000
eval_every = 2000
eval_chars = 100
timeout_s = 2
"""


def test_train_and_rnn_benchmarks_that_hang_fail_within_their_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.txt"
    book.write_text("sphinx of black quartz, judge my vow. " * 60)
    path = tmp_path / "hangs.toml"
    path.write_text(SUITE.format(book=book))
    items: list[Item] = list(load_suite(str(path)).items)
    assert [item.train.timeout_s if item.train else item.recurrent.timeout_s  # type: ignore[union-attr]
            for item in items] == [2.0, 2.0]  # fmt: skip

    real_step = torch.optim.Optimizer.zero_grad
    calls = [0]

    def stuck_after_a_while(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] % 50 == 0:  # both runs get stuck in Python, in the middle of training
            while True:
                time.sleep(0.1)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Optimizer, "zero_grad", stuck_after_a_while)
    out = tmp_path / "run"
    assert run_session(items, out, deadline_s=None) == []
    with (out / STATUS).open() as handle:
        status = {row["benchmark"]: row for row in csv.DictReader(handle)}
    for name in ("ff-hang", "lm-hang"):
        assert status[name]["status"] == "failed"
        assert status[name]["message"].startswith(f"{name} hung: no training step for")
        assert "(timeout_s 2)" in status[name]["message"]


@pytest.mark.parametrize("kind", ["train", "rnn"])
@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "1e9"])
def test_a_timeout_that_is_not_a_finite_positive_number_is_refused(
    tmp_path: Path, kind: str, value: str
) -> None:
    path = tmp_path / "bad.toml"
    head = '[suite]\ndescription = "bad timeout"\n'
    path.write_text(f'{head}[[benchmark]]\nname = "x"\nkind = "{kind}"\ntimeout_s = {value}\n')
    with pytest.raises(UserError, match="timeout_s"):
        load_suite(str(path))
