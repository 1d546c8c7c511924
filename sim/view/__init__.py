"""Watching one run in the browser (Mesa's SolaraViz)."""
