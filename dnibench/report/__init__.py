"""Reports of run directories: figures, Markdown and HTML, and comparisons between runs.

- :func:`load_run` reads and validates a run directory into :class:`RunData`;
- :func:`write_reports` draws the figures into ``RUN_DIR/plots`` and writes
  ``report.md`` and a self-contained ``report.html``;
- :func:`compare_runs` puts several runs side by side with ratios to the first.

Everything is rebuilt from the files of the run, so a committed run can be
reported again on any machine without running a benchmark.
"""

from dnibench.report.build import write_reports
from dnibench.report.compare import compare_runs
from dnibench.rundir.reader import RunData, load_run

__all__ = ["RunData", "compare_runs", "load_run", "write_reports"]
