"""The GPU study: pipeline items on CUDA streams or nccl next to their NVML telemetry."""
