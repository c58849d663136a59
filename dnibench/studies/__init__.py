"""Studies: what dnibench measures, one folder each, and the kinds of benchmark they run.

A *kind* is how one item runs (:mod:`kind`: its suite keys, how an item is
built, computed and recorded); a *study* is a set of kinds plus report
sections, targets and verdicts (:mod:`study`), and may read items of several
kinds. Each study is a subpackage with a ``study`` module; :mod:`registry`
finds them, and suites, runs and reports ask it. Shared pieces: :mod:`item`
(the one item type) and :mod:`keys` (suite keys as data); the one Target and
its verdict words are :mod:`dnibench.report.verdict`, so every report speaks them.

Studies: :mod:`pipeline`, :mod:`train` (feed-forward), :mod:`recurrent`,
:mod:`gpu` and :mod:`simulator` (the simulator checked against measurement).
"""
