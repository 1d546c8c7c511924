"""Experiments: many runs in parallel, resumable, into a Parquet store."""
