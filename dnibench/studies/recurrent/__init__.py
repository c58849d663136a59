"""Recurrent data efficiency: truncated BPTT against DNI at the truncation boundary.

Modules: :mod:`config` (one benchmark's settings; the character corpora,
the default one included, live in :mod:`dnibench.data.corpus` so that pipeline
benchmarks read them too), :mod:`copy_tasks`
(copy / repeat-copy generators and curriculum), :mod:`core` (the LSTM core),
:mod:`chunks`, :mod:`tbptt` and :mod:`dni_tbptt` (the regimes),
:mod:`sg_quality` (the SG probe), :mod:`trainer`, :mod:`lm_bench` and
:mod:`copy_bench` (the runs), :mod:`data_options` (where the text comes
from) and :mod:`bench` (tidy rows). The rnn report section reads the rows:
:mod:`report`. :mod:`keys` holds the kinds' suite keys and :mod:`study` the
kinds and the section; only :mod:`config` and :mod:`keys` are imported when a
suite loads, so loading a suite stays free of the training modules here.
"""
