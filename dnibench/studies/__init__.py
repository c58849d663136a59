"""Studies: what dnibench measures, one folder each, and the kinds of benchmark they run.

A *kind* is how one item runs (:mod:`kind`); a *study* is a set of suite
keys plus report sections, targets and verdicts, and may read several kinds.
"""
