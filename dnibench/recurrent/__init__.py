"""Recurrent data efficiency: truncated BPTT against DNI at the truncation boundary.

Modules: :mod:`config` (one benchmark's settings), :mod:`corpus` (character
corpora), :mod:`copy_tasks` (copy / repeat-copy generators and curriculum),
:mod:`core` (the LSTM core), :mod:`chunks`, :mod:`tbptt` and :mod:`dni_tbptt`
(the regimes), :mod:`trainer`, :mod:`lm_bench` and :mod:`copy_bench` (the
runs), :mod:`bench` (tidy rows), :mod:`targets`, :mod:`report_plots` and
:mod:`report` (the rnn report section). Only :mod:`config` is imported by the
suite schema, so loading a suite stays free of torch-heavy imports here.
"""
