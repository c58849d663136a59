"""The run directory: its layout, its one writer and its one reader.

Everything that writes a run (the session, the simulator, the cross-check)
goes through :mod:`~dnibench.rundir.writer`; everything that reads one
(reports, the gate, the simulator, the exporter, ``compare``, ``check``)
through :mod:`~dnibench.rundir.reader`, whose config entries are the typed
dataclasses of :mod:`~dnibench.rundir.config`. :mod:`~dnibench.rundir.layout`
names every file and column once.
"""
