"""The picture of one explained run: each list's grievance and rung by week, sessions marked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Protocol

from sim.batch.outputs import write_atomic
from sim.engine.enums import EscalationLevel
from sim.engine.events import Event


class Explanation(Protocol):
    """What the picture needs of an explained run (``sim.analysis.explanation``)."""

    series: dict[str, Any]
    events: list[Event]

    @property
    def title(self) -> str: ...


#: Lines drawn per panel: the lists that moved most (a legend of 17 lists is unreadable).
SHOWN = 8


def plot_run(ex: Explanation, path: Path) -> Path:
    """Draw ``ex`` to ``path`` (PNG): grievance on top, rungs below, sessions as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["text.usetex"] = False
    weeks = ex.series["week"]
    grievance, rung = ex.series["grievance"], ex.series["rung"]
    moved = sorted(rung, key=lambda n: (-max(rung[n]), -max(grievance[n])))[:SHOWN]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name in moved:
        label = name.replace("$", r"\$")  # names are text, never mathtext
        top.plot(weeks, grievance[name], label=label, lw=1.4)
        bottom.step(weeks, rung[name], where="post", label=label, lw=1.4)
    bottom.step(weeks, ex.series["street_rung"], where="post", label="the street", c="k", ls=":")
    marks = {
        "session": ("tab:gray", "session"),
        "confidence_vote": ("tab:green", "confidence vote"),
        "government_formed": ("tab:red", "government formed"),
    }
    seen: set[str] = set()
    for e in ex.events:
        if e.kind in marks:
            colour, label = marks[e.kind]
            for ax in (top, bottom):
                ax.axvline(e.week, c=colour, lw=0.8, ls="--", alpha=0.6,
                           label=label if ax is top and e.kind not in seen else None)  # fmt: skip
            seen.add(e.kind)
    top.set_ylabel("grievance")
    top.set_ylim(0, 1)
    top.legend(fontsize=7, ncol=3, loc="upper right")
    bottom.set_yticks([int(x) for x in EscalationLevel])
    bottom.set_yticklabels([x.name.lower().replace("_", " ") for x in EscalationLevel])
    bottom.set_xlabel("week since election day")
    bottom.set_ylim(-0.3, 5.3)
    fig.suptitle(ex.title.replace("$", r"\$"))
    fig.tight_layout()
    buffer = io.BytesIO()  # then one atomic write: never a half-written picture
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return write_atomic(path, buffer.getvalue())
