"""The pieces a self-contained HTML report is built from: escaped text, figures as PNG
data URIs, tables of a DataFrame, a JSON summary as nested tables.

Nothing here points outside the page: a figure is embedded, never linked.
"""

from __future__ import annotations

import base64
import html
import io
import json

import pandas as pd

TABLE_ROWS = 10  # rows shown of a ranked sensitivity/discovery table (the files hold the rest)


def esc(value) -> str:
    return html.escape(str(value))


def figure_data_uri(fig) -> str:
    """A figure as a base64 PNG data URI (rendered by the Agg canvas)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def img(fig_id: str, uri: str, caption: str) -> str:
    return (
        f'<figure id="{fig_id}"><img src="{uri}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def fmt(value) -> str:
    """A cell of a table read from a file: numbers to four significant digits, a very
    small one (a quasi-p-value) in exponent form, where the exponent is the finding."""
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        if value in (float("inf"), float("-inf")):
            return str(value)
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2g}"
        return f"{value:.3f}" if abs(value) < 1 and value != 0 else f"{value:.4g}"
    return str(value)


def html_table(frame: pd.DataFrame, limit: int = TABLE_ROWS, what: str = "rows") -> str:
    """A DataFrame as a table, its first ``limit`` rows (and a note of how many more)."""
    shown = frame.head(limit)
    rows = ['<div class="wide"><table><tr>']
    rows[0] += "".join(f"<th>{esc(c)}</th>" for c in shown.columns) + "</tr>"
    for record in shown.itertuples(index=False):
        cells = (
            f'<td class="{"l" if isinstance(v, str) else ""}">{esc(fmt(v))}</td>' for v in record
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table></div>")
    if len(frame) > limit:
        rows.append(f'<p class="note">first {limit} of {len(frame)} {what}</p>')
    return "\n".join(rows)


def json_html(value, depth: int = 0) -> str:
    """A JSON summary as nested tables: objects as key/value rows, lists of objects as
    tables, lists of scalars inline; deeper than three levels as compact JSON."""
    if depth > 3:
        return esc(json.dumps(value, default=str))
    if isinstance(value, dict):
        rows = "".join(
            f'<tr><th class="l">{esc(k)}</th><td class="l">{json_html(v, depth + 1)}</td></tr>'
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        frame = pd.DataFrame(value).map(
            lambda v: json.dumps(v, default=str) if isinstance(v, dict | list) else v
        )
        return html_table(frame)
    if isinstance(value, list):
        return esc(", ".join(fmt(v) for v in value))
    return esc(fmt(value))


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()
