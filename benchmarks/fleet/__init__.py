"""The fleet simulation (issue 11): ``python benchmarks/fleet/run.py [--quick] [--update-docs]``."""
