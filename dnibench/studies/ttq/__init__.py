"""The time-to-quality study: pipelines trained to a target, timed end to end (issue 22)."""
