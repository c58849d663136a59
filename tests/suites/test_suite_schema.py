"""Suite loading: expansion of grids, and errors that name file, line, key and fix.

Every test writes its suite into tmp_path, so these run without the shipped
suites; the errors are checked for what a user needs to fix the file.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.regimes.regime import REGIME_NAMES
from dnibench.runtimes.spec import BENCH_MODES, BenchSpec
from dnibench.suites import KEYS, SuiteError, find_suite, list_suites, load_suite
from dnibench.suites.schema import key_for
from dnibench.train import TrainConfig

HEAD = '[suite]\ndescription = "test suite"\n\n'


def write(tmp_path: Path, body: str, name: str = "s.toml", head: str = HEAD) -> Path:
    path = tmp_path / name
    path.write_text(head + body, encoding="utf-8")
    return path


def error_of(path: Path) -> SuiteError:
    """Load ``path``, expecting a SuiteError, and check the file was left alone."""
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert path.name in str(info.value)
    return info.value


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """1-based line number of the ``occurrence``-th line starting with ``text``."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text)]
    return found[occurrence - 1]


GRID = """
[defaults]
model = "mlp"
width = 32
depth = 2
input_shape = [16]

[[benchmark]]
name = "{mode}-m{microbatches}"
kind = "pipeline"
microbatches = [1, 4]
mode = ["gpipe", "dni"]
threads = "all"
batch_size = 16
steps = 6
warmup = 2
sg_width = 8
lr = 0.01
repeats = 2

[[benchmark]]
name = "digits-{mode}-b{balance}"
kind = "train"
mode = ["backprop", "unlock"]
data = "digits"
stages = 2
balance = [[1, 2], [2, 1]]
steps = 10
eval_every = 5
target_accuracy = 0.9
data_dir = "~/data"
si_width = 16
optimizer = "sgd"
"""


def test_grid_expands_in_key_order_with_defaults_and_knobs(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, GRID))
    assert suite.name == "s" and suite.description == "test suite" and suite.repeats == 1
    pipeline = [item for item in suite.items if item.kind == "pipeline"]
    # The first listed axis (microbatches) varies slowest.
    assert [item.name for item in pipeline] == ["gpipe-m1", "dni-m1", "gpipe-m4", "dni-m4"]
    first = pipeline[0]
    assert first.repeats == 2 and first.runtime == "dist" and first.train is None
    assert first.point == {"microbatches": 1, "mode": "gpipe"}
    assert isinstance(first.spec, BenchSpec)
    assert first.spec.name == "gpipe-m1" and first.spec.threads == (os.cpu_count() or 1)
    assert first.spec.width == 32 and first.spec.input_shape == (16,)
    assert first.spec.sg.width == 8 and first.spec.optim.lr == 0.01
    assert first.spec.optim.name == "adam"  # unset knobs keep their config defaults


def test_train_items_build_train_configs(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, GRID))
    train = [item for item in suite.items if item.kind == "train"]
    assert [item.name for item in train] == [
        "digits-backprop-b1x2", "digits-backprop-b2x1", "digits-unlock-b1x2", "digits-unlock-b2x1",
    ]  # fmt: skip
    item = train[0]
    assert item.runtime == "reference" and item.spec is None and item.repeats == 1
    assert item.target_accuracy == 0.9
    assert isinstance(item.train, TrainConfig)
    config = item.train
    assert (config.data, config.mode, config.steps, config.eval_every) == (
        "digits",
        "backprop",
        10,
        5,
    )
    assert config.data_dir == Path("~/data").expanduser()
    assert config.pipeline.balance == (1, 2) and config.pipeline.stages == 2
    assert config.pipeline.width == 32 and config.pipeline.depth == 2  # from [defaults]
    assert config.pipeline.si.width == 16 and config.pipeline.optim.name == "sgd"


def test_template_must_name_keys_of_the_benchmark(tmp_path: Path) -> None:
    # spans is a pipeline key: the train benchmark does not set it.
    path = write(tmp_path, GRID.replace('"digits-{mode}-b{balance}"', '"digits-{mode}-{spans}"'))
    error = error_of(path)
    assert error.line == line_of(path, 'name = "digits-')
    assert "{spans}" in str(error) and "does not set" in str(error)


def test_malformed_toml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[[benchmark]]\nname = "a"\nsteps = = 3\n')
    error = error_of(path)
    assert error.line == 6 and error.column == 9
    assert str(error).startswith(f"{path}:6:9: malformed TOML")


def test_unknown_key_suggests_and_points_at_its_line(tmp_path: Path) -> None:
    body = """
[[benchmark]]
name = "{mode}"
kind = "pipeline"
microbatches = 4
mode = ["gpipe",
        "dni"]

[[benchmark]]
name = "{mode}-m{microbatches}"
kind = "pipeline"
mode = ["gpipe",
  "1f1b"]
microbatch = [1, 8]
"""
    path = write(tmp_path, body)
    error = error_of(path)
    assert error.line == line_of(path, "microbatch =") and error.key == "microbatch"
    message = str(error)
    assert f"{path}:{error.line}: benchmark 2 " in message
    assert "unknown key 'microbatch'; did you mean 'microbatches'?" in message
    assert "Allowed keys:" in message and "staleness" in message


def test_key_of_the_other_kind_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, '[[benchmark]]\nname = "a"\nkind = "train"\nwarmup = 3\n')
    error = error_of(path)
    assert error.line == line_of(path, "warmup") and "belongs to pipeline benchmarks" in str(error)


def test_wrong_type_names_key_and_expected_type(tmp_path: Path) -> None:
    path = write(tmp_path, '[[benchmark]]\nname = "a"\nkind = "pipeline"\nmode = "dni"\n'
                 'steps = "ten"\n')  # fmt: skip
    error = error_of(path)
    assert error.line == line_of(path, "steps") and error.key == "steps"
    assert "key 'steps' must be an integer" in str(error) and '"ten"' in str(error)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("threads = 1.5", 'an integer or "all"'),
        ("spans = 1", "true or false"),
        ("input_shape = 8", "a list of integers"),
        ("microbatches = [1, true]", "an integer"),
        ('lr = "fast"', "a number"),
        ("microbatches = 0", ">= 1"),
        ("sg_hidden = 3", "from 0 to 2"),
        ("lr = 0", "> 0"),
        ("balance = [2, 0]", ">= 1"),
        ('model = "mpl"', "did you mean 'mlp'?"),
        ('data = "mnist"', "pipeline benchmarks do not take"),
        ('backend = "mpi"', "gloo, nccl"),
    ],
)
def test_bad_values_are_located(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path, f'[[benchmark]]\nname = "a"\nkind = "pipeline"\nmode = "dni"\n{line}\n')
    error = error_of(path)
    assert error.line == 8 and expected in str(error)


def test_bad_mode_lists_the_modes_of_its_kind(tmp_path: Path) -> None:
    path = write(tmp_path, '[[benchmark]]\nname = "{mode}"\nkind = "pipeline"\n'
                 'mode = ["dni", "dnii"]\n')  # fmt: skip
    message = str(error_of(path))
    assert "'dnii' is not allowed; did you mean 'dni'?" in message
    assert all(mode in message for mode in BENCH_MODES)
    path = write(tmp_path, '[[benchmark]]\nname = "a"\nkind = "train"\nmode = "gpipe"\n')
    message = str(error_of(path))
    assert all(mode in message for mode in REGIME_NAMES) and "1f1b" not in message


def test_empty_axis_and_no_benchmarks_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, '[[benchmark]]\nname = "{mode}"\nkind = "pipeline"\nmode = []\n')
    error = error_of(path)
    assert error.line == 7 and "empty list" in str(error)
    error = error_of(write(tmp_path, "[defaults]\nmodel = 'mlp'\n"))
    assert "no [[benchmark]]" in str(error)


def test_duplicate_names_name_both_entries(tmp_path: Path) -> None:
    body = """
[[benchmark]]
name = "{mode}"
kind = "pipeline"
mode = ["gpipe", "dni"]

[[benchmark]]
name = "dni"
kind = "pipeline"
mode = "unlock"
"""
    path = write(tmp_path, body)
    message = str(error_of(path))
    assert "'dni'" in message
    assert "benchmark 2 (line 10)" in message and "benchmark 1 (line 5; mode = 'dni')" in message
    body = '[[benchmark]]\nname = "{mode}"\nkind = "pipeline"\nmode = "dni"\nthreads = [1, 2]\n'
    message = str(error_of(write(tmp_path, body)))
    assert "threads = 2" in message and "threads = 1" in message and "both produce" in message


RATIO_BASE = '[[benchmark]]\nname = "{mode}-m4"\nkind = "pipeline"\nmode = ["gpipe", "dni"]\n' \
    "microbatches = 4\nbatch_size = 16\n"  # fmt: skip


def test_ratios_default_to_throughput_and_must_name_benchmarks(tmp_path: Path) -> None:
    good = '\n[[ratio]]\nname = "r"\nnumerator = "dni-m4"\ndenominator = "gpipe-m4"\n'
    suite = load_suite(write(tmp_path, RATIO_BASE + good))
    (ratio,) = suite.ratios
    assert (ratio.name, ratio.numerator, ratio.denominator, ratio.metric) == (
        "r", "dni-m4", "gpipe-m4", "throughput",
    )  # fmt: skip
    path = write(tmp_path, RATIO_BASE + good.replace('"gpipe-m4"', '"gpipe-m8"'))
    error = error_of(path)
    assert error.line == line_of(path, "denominator") and error.key == "denominator"
    assert "'gpipe-m8' is not a benchmark" in str(error) and "did you mean 'gpipe-m4'?" in str(
        error
    )
    error = error_of(write(tmp_path, RATIO_BASE + good + good))
    assert "another ratio is already called 'r'" in str(error)
    error = error_of(write(tmp_path, RATIO_BASE + good.replace("numerator", "numerater")))
    assert "did you mean 'numerator'?" in str(error)


def test_suite_table_and_top_level_are_checked(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, RATIO_BASE, head=""))
    assert "missing [suite]" in str(error)
    error = error_of(write(tmp_path, RATIO_BASE, head="[suite]\nrepeats = 2\n"))
    assert error.line == 1 and "'description'" in str(error)
    error = error_of(write(tmp_path, RATIO_BASE, head='[suite]\ndescription = "x"\nrepeat = 2\n'))
    assert error.line == 3 and "did you mean 'repeats'?" in str(error)
    error = error_of(write(tmp_path, "[[benchmarks]]\nname = 'a'\n"))
    assert error.line == 4 and "did you mean 'benchmark'?" in str(error)
    error = error_of(write(tmp_path, "[defaults]\nwarmpu = 3\n\n" + RATIO_BASE))
    assert error.line == 5 and "did you mean 'warmup'?" in str(error)
    error = error_of(write(tmp_path, '[defaults]\nsteps = "x"\n\n' + RATIO_BASE))
    assert error.line == 5 and "must be an integer" in str(error)


def test_missing_kind_name_and_bad_runtime(tmp_path: Path) -> None:
    assert "missing key 'kind'" in str(error_of(write(tmp_path, "[[benchmark]]\nname = 'a'\n")))
    path = write(tmp_path, "[[benchmark]]\nkind = 'pipeline'\nmode = 'dni'\n")
    assert "missing key 'name'" in str(error_of(path))
    path = write(tmp_path, "[[benchmark]]\nname = 'a'\nkind = 'train'\nruntime = 'dist'\n")
    error = error_of(path)
    assert error.line == 7 and "'reference'" in str(error)


def test_cross_key_and_spec_validation_is_wrapped(tmp_path: Path) -> None:
    body = '[[benchmark]]\nname = "a"\nkind = "pipeline"\nmode = "dni"\nsteps = 3\nwarmup = 5\n'
    error = error_of(write(tmp_path, body))
    assert isinstance(error, UserError) and error.line == 4
    assert "a: steps (3) must exceed warmup (5)" in str(error)
    body = '[[benchmark]]\nname = "a"\nkind = "pipeline"\nmode = "dni"\nbalance = [1, 1]\n'
    assert "balance sums to 2 but model mlp (depth 3) has 4 blocks" in str(
        error_of(write(tmp_path, body))
    )
    body = '[[benchmark]]\nname = "a"\nkind = "train"\ndata = "mnist"\n'
    assert "set data_dir" in str(error_of(write(tmp_path, body)))
    body = '[[benchmark]]\nname = "a"\nkind = "train"\nbatch_size = 10\nmicrobatches = 3\n'
    assert "split evenly" in str(error_of(write(tmp_path, body)))


def test_locator_skips_strings_and_multiline_arrays(tmp_path: Path) -> None:
    head = '[suite]\ndescription = """\n[[benchmark]]\nsteps = 1\n"""\n\n'
    body = """[[benchmark]]
name = "a-{balance}"
kind = "pipeline"
mode = "dni"
balance = [
[1, 3]
]
steps = "x"  # the second 'steps =' line of the file, but the first of a benchmark
"""
    path = write(tmp_path, body, head=head)
    assert error_of(path).line == line_of(path, "steps", occurrence=2)


def test_find_suite_by_name_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    local = write(tmp_path / "suites", RATIO_BASE, name="mine.toml")
    assert find_suite("mine").resolve() == local.resolve()
    assert find_suite("quick").name == "quick.toml"  # from the package's suites folder
    assert load_suite("mine").names == ["gpipe-m4", "dni-m4"]
    assert load_suite(str(local)).name == "mine"
    assert "mine" in [suite.name for suite in list_suites()]
    with pytest.raises(SuiteError) as info:
        find_suite("quik")
    message = str(info.value)
    assert "unknown suite 'quik'; did you mean 'quick'?" in message
    assert "mine" in message and "pipeline" in message
    with pytest.raises(SuiteError, match="no suite file"):
        find_suite("missing.toml")


def test_schema_covers_benchspec_and_trainconfig() -> None:
    # eval_every is set by the ttq kind, which evaluates the snapshots it asks for.
    internal = {"name", "optim", "sg", "si", "fault", "keep_parameters", "eval_every"}
    fields = {f.name for f in dataclasses.fields(BenchSpec)} - internal
    assert fields <= set(KEYS["pipeline"])
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"pipeline"}
    assert train_fields <= set(KEYS["train"])
    for keys in KEYS.values():
        for name in keys:  # [defaults] type-checks with the first kind's key of that name
            found = key_for(name)
            assert found is not None and keys[name].type == found.type


# Issue 20, defect 14 (and 1): a 300-character name failed with "File name too long"
# only when its trace was written, mid-run.
def test_a_name_too_long_for_its_trace_file_is_refused_at_load(tmp_path: Path) -> None:
    long = "a" * 300
    path = write(tmp_path, f'[[benchmark]]\nname = "{long}"\nkind = "pipeline"\nmode = "dni"\n')
    error = error_of(path)
    assert error.line == 5 and error.key == "name"
    assert "is 300 bytes long; benchmark names become file names" in str(error)
    assert "limit to 255 bytes: keep the name to at most 233 bytes" in str(error)


def test_the_longest_name_allowed_fits_and_repeats_count(tmp_path: Path) -> None:
    fits = "b" * 233
    path = write(tmp_path, f'[[benchmark]]\nname = "{fits}"\nkind = "pipeline"\nmode = "dni"\n')
    assert load_suite(path).names == [fits]
    path = write(
        tmp_path, f'[[benchmark]]\nname = "{fits}"\nkind = "pipeline"\nmode = "dni"\nrepeats = 2\n'
    )
    assert "at most 230 bytes at 2 repeats" in str(error_of(path))


def test_survey_lists_every_suite_and_the_error_of_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dnibench.suites import survey_suites

    folder = tmp_path / "suites"
    folder.mkdir()
    write(folder, "[[benchmark]\n", name="broken.toml")
    write(folder, '[[benchmark]]\nname = "a"\nkind = "pipeline"\nmode = "dni"\n', name="mine.toml")
    monkeypatch.chdir(tmp_path)
    suites, errors = survey_suites()
    assert "mine" in [suite.name for suite in suites] and "quick" in [s.name for s in suites]
    assert [error.path.name for error in errors if error.path] == ["broken.toml"]
    assert "malformed TOML" in str(errors[0])
