"""The K map (issue 22 point 5): samples to target at K = 2-4 replayed in one process, and
where each decoupled regime beats the best exact schedule as K and m grow."""

KMAP = "kmap"
"""The kind's name."""
REPLAY_RUNTIME = "reference"
"""The kind's one runtime: every stage in this process, in the pipeline's order."""
