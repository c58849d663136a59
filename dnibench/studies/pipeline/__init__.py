"""The pipeline study: targets, zero-bubble verdicts, split backward, hardware limit, timelines."""
