"""The compiled core: the World, the State, random streams, the event log, the weekly
processes and the replicate kernel. It imports nothing from scenario loading, batches,
analysis, reports or the command line."""
