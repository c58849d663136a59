"""Runtimes decide when each stage operation runs and how tensors travel."""
