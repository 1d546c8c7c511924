"""The Mesa model and its agents (the same compiled week as the batch engine)."""
