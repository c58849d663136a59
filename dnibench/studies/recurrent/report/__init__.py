"""The rnn report section: what a run of recurrent benchmarks shows and how it is judged.

Modules: :mod:`figures` (premise, gap closed, reach, divergence from plain
tables), :mod:`targets` (each target with its premise checked first),
:mod:`copy_tables` (the copy curricula laid out like the DNI paper's table),
:mod:`plots` and :mod:`section` (the Markdown section and its figures). They
read only a run directory; the runs themselves are :mod:`dnibench.studies.recurrent`.
"""
