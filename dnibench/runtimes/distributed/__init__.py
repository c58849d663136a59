"""The ``dist`` runtime: one process per stage over torch.distributed.

- :mod:`links`: point-to-point messages between neighbouring ranks, with timeouts;
- :mod:`transport`: those links as the stage driver's transport;
- :mod:`worker`: one rank's set-up, run and report;
- :mod:`launch`: spawn one process per stage locally and watch them;
- :mod:`peers`: PyTorch's own ``torch.distributed.pipelining`` schedules as peers.

(Named ``distributed``, not ``dist``: linters, formatters and pytest skip
folders called ``dist`` by default.)
"""
