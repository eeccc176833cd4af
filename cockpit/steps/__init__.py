"""Executors of the step kinds other than ``ssh`` (which is the runner's)."""
