"""Training regimes as runtime-independent logic: stages, SG and SI modules."""
