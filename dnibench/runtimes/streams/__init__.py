"""The ``streams`` runtime: one process, one CUDA stream (and host thread) per stage.

Stages run the same :class:`~dnibench.regimes.stage.Stage` code and the same
schedules as the other runtimes; cross-stage order is kept by stream events
and spans are timed by them. A CPU stand-in for streams
(:mod:`~dnibench.runtimes.streams.standin`) runs the same engine without a
GPU, for tests and smoke runs. Modules:

- :mod:`stream`: the stream / event interface the engine is written against;
- :mod:`standin` and :mod:`cuda`: its CPU stand-in and CUDA implementations;
- :mod:`handoff`: tensors passed between stages with their events;
- :mod:`timeline`: event-timed spans per stage;
- :mod:`transport`: the stage driver's transport over hand-offs;
- :mod:`engine`: one host thread per stage running the stage driver, failures and timeouts;
- :mod:`devices`: CUDA or stand-in, and which GPU each stage uses;
- :mod:`runner`: a BenchSpec in, a BenchResult out.

Nothing here touches CUDA at import, so the package imports on any machine.
"""
