"""Writing simulation and cross-check reports: the report layer over the simulator."""
