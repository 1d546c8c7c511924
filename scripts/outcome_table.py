"""Print the run table's columns as a Markdown table, from the outcome registry.

    .venv/bin/python scripts/outcome_table.py

The README's table under *What a run reports* is this script's output; a test checks that
every registry column appears there.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.engine.outcomes import OUTCOMES


def main() -> None:
    print("| column | kind | what it is |")
    print("|---|---|---|")
    for o in OUTCOMES:
        name = o.name.replace("{}", "<" + o.each + ">") if o.each else o.name
        values = ""
        if o.categories:
            values = " (" + " / ".join(str(c) for c in o.categories) + ")"
        print(f"| `{name}` | {o.kind.value}{values} | {o.meaning} |")


if __name__ == "__main__":
    main()
