"""The simulator checked against measurement: a section on every run with pipeline spans."""
