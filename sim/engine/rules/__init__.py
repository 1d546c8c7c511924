"""The rules processes apply: bargaining, the constitution, patrons' instruments (pure,
compiled functions)."""
