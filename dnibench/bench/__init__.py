"""Benchmarks: running them into a run directory, reading results.

- :mod:`kinds`: the registry of benchmark kinds (pipeline, train, rnn, copy);
- :mod:`run`: one pipeline benchmark on its runtime;
- :mod:`train_bench`: one training benchmark on the reference runtime;
- :mod:`session`: a list of benchmarks into a run directory, results kept as they land;
- :mod:`results_file`: the result columns and the one reader of ``results.csv``;
- :mod:`fingerprint`: the machine a run ran on.

One pipeline benchmark as plain data is :class:`dnibench.runtimes.spec.BenchSpec`;
``dnibench bench`` is :mod:`dnibench.cli.bench`.
"""
