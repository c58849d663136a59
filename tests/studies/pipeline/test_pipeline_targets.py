from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.studies.pipeline.targets import batch_sizes, load_results, targets

RUN = Path(__file__).resolve().parents[2] / "fixtures" / "pipeline-run"


def test_targets_read_the_run_they_are_given() -> None:
    frame = load_results(RUN)
    checked = {target.name: target for target in targets(frame, batch_sizes(RUN))}
    efficiency = frame[(frame.benchmark == "dni-m8") & (frame.metric == "pipeline_efficiency")]
    assert checked["dni-m8 pipeline efficiency"].measured == pytest.approx(
        efficiency.value.median()
    )
    ratio = checked["floor: dni / sequential throughput (m=1)"]
    assert ratio.interval is not None  # a floor judged by its interval over launches
    assert ratio.interval.low <= ratio.measured <= ratio.interval.high
    expected = {True: ratio.interval.low > 1.5, False: ratio.interval.high <= 1.5}
    assert ratio.met is None or expected[ratio.met]
    estimate = checked["dni-m8 instrumentation overhead, % (span count x span cost)"]
    assert 0 < estimate.measured < 3
    assert all("|" not in target.name for target in checked.values())  # Markdown table cells


def test_missing_results_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"holds no results\.csv"):
        load_results(tmp_path)
    (tmp_path / "results.csv").write_text("")
    with pytest.raises(UserError, match="is empty: no benchmark finished"):
        load_results(tmp_path)
    (tmp_path / "results.csv").write_text('benchmark,metric\n"a,b\nc,d,e,f,g\n')
    with pytest.raises(UserError, match="corrupt"):
        load_results(tmp_path)
