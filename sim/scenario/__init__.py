"""Scenario files: loading, inheritance, dotted keys, sweeps and ranges."""
