"""Copy and repeat-copy generators, the error in bits, and the curriculum."""

from __future__ import annotations

import math

import pytest
import torch

from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.copy_bench import CopyPoint, CopyResult, run_copy
from dnibench.studies.recurrent.copy_tasks import CopyTask, Curriculum, error_bits


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_copy_batch_asks_for_the_symbols_after_the_delimiter() -> None:
    task = CopyTask("copy", symbols=5)
    batch = task.batch(4, 3, gen())
    assert batch.inputs.shape == (3, task.sequence_length(4)) == (3, 9)
    symbols = batch.inputs[:, :4]
    assert int(symbols.max()) < 5
    assert (batch.inputs[:, 4] == task.delimiter).all() and (
        batch.inputs[:, 5:] == task.blank
    ).all()
    torch.testing.assert_close(batch.targets[:, 5:], symbols)
    assert (batch.mask[:, :5] == 0).all() and (batch.mask[:, 5:] == 1).all()


def test_repeat_copy_reads_a_count_and_repeats_then_ends() -> None:
    task = CopyTask("repeat-copy", symbols=4, max_repeats=3)
    batch = task.batch(2, 40, gen(1), repeats=3)
    counts = batch.inputs[:, 3] - task.count_token(1) + 1
    assert set(counts.tolist()) == {1, 2, 3}  # all counts occur in 40 examples
    for row, count in enumerate(counts.tolist()):
        answer = batch.targets[row, 4 : 4 + 2 * count]
        torch.testing.assert_close(answer, batch.inputs[row, :2].repeat(count))
        assert int(batch.targets[row, 4 + 2 * count]) == task.end
        assert int(batch.mask[row].sum()) == 2 * count + 1
    assert batch.inputs.shape[1] == task.sequence_length(2, 3) == 2 + 2 + 2 * 3 + 1


def test_repeat_copy_grows_its_repeat_ceiling_with_the_length() -> None:
    task = CopyTask("repeat-copy", symbols=4, max_repeats=3)
    assert [task.repeat_ceiling(n) for n in (1, 2, 3, 4, 7)] == [1, 2, 3, 3, 3]
    assert CopyTask("copy").repeat_ceiling(5) == 1
    batch = task.batch(2, 64, gen(2))  # the default ceiling at length 2 is 2
    counts = batch.inputs[:, 3] - task.count_token(1) + 1
    assert set(counts.tolist()) == {1, 2}
    assert batch.inputs.shape[1] == task.sequence_length(2) == 2 + 2 + 2 * 2 + 1
    with pytest.raises(ValueError, match="from 1 to max_repeats = 3"):
        task.batch(2, 4, gen(), repeats=4)


def test_generators_are_seeded_and_check_their_arguments() -> None:
    task = CopyTask()
    torch.testing.assert_close(task.batch(3, 2, gen(7)).inputs, task.batch(3, 2, gen(7)).inputs)
    with pytest.raises(ValueError, match="copy task"):
        CopyTask("reverse")
    with pytest.raises(ValueError, match="at least 1"):
        task.batch(0, 2, gen())


def test_error_bits_is_zero_for_a_sure_answer_and_log2_k_for_a_guess() -> None:
    task = CopyTask("copy", symbols=8)
    batch = task.batch(3, 4, gen())
    sure = torch.nn.functional.one_hot(batch.targets, task.output_vocab).float() * 50.0
    assert error_bits(sure, batch) < 1e-6
    uniform = torch.zeros(*batch.targets.shape, task.output_vocab)
    assert error_bits(uniform, batch) == pytest.approx(math.log2(task.output_vocab))


def test_curriculum_grows_only_after_a_full_window_below_threshold() -> None:
    curriculum = Curriculum(threshold=0.15, window=3)
    assert not curriculum.record(0.1) and not curriculum.record(0.1)  # window not full yet
    assert curriculum.record(0.1)
    assert (curriculum.length, curriculum.longest_solved) == (2, 1)
    for error in (0.5, 0.1, 0.1):  # mean 0.23: not solved
        assert not curriculum.record(error)
    assert curriculum.record(0.1)  # the window slid past the 0.5: mean 0.1
    assert (curriculum.length, curriculum.longest_solved) == (3, 2)


def test_curriculum_mean_is_over_the_current_length_only() -> None:
    curriculum = Curriculum(threshold=0.15, window=2)
    curriculum.record(0.0)
    curriculum.record(0.0)
    assert curriculum.length == 2 and math.isnan(curriculum.mean_error)
    curriculum.record(1.0)
    assert curriculum.mean_error == 1.0


def test_copy_benchmark_spends_its_budget_and_reports_the_curriculum() -> None:
    config = RecurrentConfig(
        kind="copy",
        mode="dni-tbptt",
        truncation=3,
        width=16,
        batch_size=8,
        chars=3000,
        eval_every=500,
    )
    result = run_copy(config)
    chars = [p.chars for p in result.curve]
    assert chars == sorted(chars) and chars[-1] >= 3000 and chars[-2] < 3000
    assert all(p.longest_solved == p.length - 1 for p in result.curve)
    assert all(p.seconds > 0 for p in result.curve)
    assert len(result.solved_at) == result.final.longest_solved
    assert result.solved_at == sorted(result.solved_at)
    metrics = {name: value for name, value, _ in result.metric_values()}
    assert metrics["longest_solved"] == result.final.longest_solved
    assert metrics["stalled"] == float(result.stalled)


def test_a_run_stalled_when_it_solved_nothing_in_the_last_half_of_its_budget() -> None:
    config = RecurrentConfig(kind="copy", chars=1000)
    curve = [CopyPoint(500, 1.0, 3, 2, 0.5), CopyPoint(1000, 2.0, 3, 2, 0.5)]
    assert CopyResult(config, curve, [100, 400]).stalled  # last solve before half the budget
    assert not CopyResult(config, curve, [100, 600]).stalled  # still growing late on
    assert CopyResult(config, curve, []).stalled  # never solved anything
