"""Benchmarks: what to run (specs, grids), running them into a run directory, reading results.

- :mod:`spec`: one pipeline benchmark as plain data;
- :mod:`grids`: the base specs suites and ``dnibench bench`` start from;
- :mod:`run`: one pipeline benchmark on its runtime;
- :mod:`session`: a list of benchmarks into a run directory, results kept as they land
  (each item run by its kind, see :mod:`dnibench.studies`);
- :mod:`parallel`: kinds that may run side by side (``run --jobs``);
- :mod:`results_file`: the result columns and the one reader of ``results.csv``;
- :mod:`fingerprint`: the machine a run ran on;
- :mod:`cli_bench`: ``dnibench bench``.
"""
