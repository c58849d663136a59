"""Instrumentation: spans, pipeline metrics, clock alignment, traces, resources.

Everything a runtime needs to measure a pipelined run (docs/metrics.md):
each rank records spans with a :class:`SpanRecorder`; spans from all ranks are
aligned with :func:`estimate_offset`, summarised by :func:`pipeline_metrics`
and drawn with :func:`chrome_trace` / :func:`timeline_frame`. Nothing here
talks to torch.distributed, so all of it is tested on hand-made spans.
"""

from dnibench.instrument.clock import estimate_offset
from dnibench.instrument.metrics import (
    PipelineMetrics,
    StageMetrics,
    gpipe_bubble,
    pipeline_metrics,
    stage_metrics,
)
from dnibench.instrument.resources import NvmlSampler, cpu_times, peak_rss_bytes
from dnibench.instrument.spans import SpanKind, SpanRecorder
from dnibench.instrument.trace import chrome_trace, timeline_frame, write_chrome_trace

__all__ = [
    "NvmlSampler",
    "PipelineMetrics",
    "SpanKind",
    "SpanRecorder",
    "StageMetrics",
    "chrome_trace",
    "cpu_times",
    "estimate_offset",
    "gpipe_bubble",
    "peak_rss_bytes",
    "pipeline_metrics",
    "stage_metrics",
    "timeline_frame",
    "write_chrome_trace",
]
