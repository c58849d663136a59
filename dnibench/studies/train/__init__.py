"""The feed-forward training study: regimes against backprop to a target accuracy."""
