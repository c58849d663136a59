"""Benchmarks: what to run (specs, grids), running them into a run directory, reading results.

- :mod:`spec`: one pipeline benchmark as plain data;
- :mod:`grids`: the base specs suites and ``dnibench bench`` start from;
- :mod:`kinds`: the registry of benchmark kinds (pipeline, train, rnn, copy);
- :mod:`run`: one pipeline benchmark on its runtime;
- :mod:`train_bench`: one training benchmark on the reference runtime;
- :mod:`session`: a list of benchmarks into a run directory, results kept as they land;
- :mod:`fingerprint`: the machine a run ran on;
- :mod:`cli_bench`: ``dnibench bench``.
"""
