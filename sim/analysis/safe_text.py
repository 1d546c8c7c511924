"""User-chosen names (scenarios, factions, blocs) leave the program as plain text.

Two places would read them as something else:

- A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
  (or a tab or carriage return before one) as a formula: a scenario named
  ``=HYPERLINK(...)`` becomes a link in every analyst's copy of the table (OWASP, "CSV
  injection"). Such text cells get a leading ``'``, which spreadsheets show as text and
  hide; numbers are not text cells and stay numbers.
- Matplotlib reads text between two ``$`` as TeX (mathtext): a name with dollar signs is
  typeset, or crashes the figure. Dollars are escaped, so they print as dollars; and a
  leading underscore, which hides a legend entry, is shown instead.
"""

from __future__ import annotations

from typing import Any

#: The characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell made inert for spreadsheets; any other value as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe(frame):
    """A copy of a DataFrame whose text cells are inert (number columns untouched)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    out = frame.copy()
    for column in out.columns:
        if is_numeric_dtype(out[column]) or is_bool_dtype(out[column]):
            continue
        out[column] = out[column].map(csv_cell, na_action="ignore")
    return out


def plain(text: Any) -> str:
    """A name as matplotlib should draw it: literally."""
    shown = str(text).replace("$", r"\$")
    return " " + shown if shown.startswith("_") else shown
