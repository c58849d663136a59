"""How a benchmark's stages are run: the runtimes and what they share.

- :mod:`spec`: :class:`~dnibench.runtimes.spec.BenchSpec`, what a runtime runs;
- :mod:`driver`: the one stage driver (a stage's action list, over a transport);
- :mod:`transport`: what the driver needs from a runtime (``Transport``, span sink);
- :mod:`harness`: set-up and result types shared by ``dist`` and ``streams``;
- :mod:`pipeline_result`: per-stage spans into metrics and tidy rows;
- :mod:`distributed`: ``dist``, one process per stage over torch.distributed;
- :mod:`streams`: one CUDA stream (and host thread) per stage, or its CPU stand-in;
- :mod:`reference`: the single-process ground truth;
- :mod:`straggler`: the slowed-stage rule every runtime applies.
"""
