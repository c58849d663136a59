"""The simulate command (dnibench simulate, --predict, cross-checks) over the simulator."""
