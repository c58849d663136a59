"""Benchmarks: running them into a run directory, reading results.

- :mod:`run`: one pipeline benchmark on its runtime;
- :mod:`session`: a list of benchmarks into a run directory, results kept as they land
  (each item run by its kind, see :mod:`dnibench.studies`);
- :mod:`parallel`: kinds that may run side by side (``run --jobs``);
- :mod:`fingerprint`: the machine a run ran on.

One pipeline benchmark as plain data is :class:`dnibench.runtimes.spec.BenchSpec`;
``dnibench bench`` is :mod:`dnibench.cli.bench`.
"""
