"""Rendering a report: Markdown (what lm-eval users paste), LaTeX (booktabs, best value per column
in bold), CSV (one row per setup x task x column with full bounds) and one self-contained HTML page
(figures inlined as base64 PNG)."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections.abc import Callable

from harness.report.build import Report
from harness.report.layouts import Cell, Table
from harness.report.requests import FORMATS, SUFFIXES  # noqa: F401  (declared with the options)
NOT_DISTINGUISHABLE = "°"


def _num(value: float | None, digits: int = 1, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _p(p: float) -> str:
    return "–" if p is None or not math.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _is_delta(table: Table, column: str) -> bool:
    return column.startswith("Δ")


def cell_text(table: Table, column: str, cell: Cell, pm: str = "±") -> str:
    """A cell in compact form: ``71.5 ±2.8``; differences ``+3.1 [-0.4, +6.6]°``."""
    if column == "p":
        return _p(cell.value)
    if cell.text is not None and cell.value is None:
        return cell.text
    if cell.text is not None:  # consistency: share and dominant language
        return f"{_num(cell.value)} · {cell.text}"
    if not table.best and cell.low is None and table.key.startswith("probes"):
        return "–" if cell.value is None else f"{cell.value:.4g}"
    if _is_delta(table, column) or table.key == "ranking":
        digits = 2 if table.key == "ranking" else 1
        text = _num(cell.value, digits, sign=True)
        if cell.low is not None:
            text += f" [{_num(cell.low, digits, True)}, {_num(cell.high, digits, True)}]"
        return text + (NOT_DISTINGUISHABLE if _is_delta(table, column) and cell.covers_zero else "")
    text = _num(cell.value)
    if cell.low is not None and cell.high is not None and math.isfinite(cell.low):
        text += f" {pm}{(cell.high - cell.low) / 2:.1f}"
    return text


def _notes(table: Table) -> list[str]:
    notes = list(table.notes)
    if any(c.covers_zero and _is_delta(table, col) for _, cells in table.rows for col, c in zip(table.columns, cells)):
        notes.append(f"{NOT_DISTINGUISHABLE} not distinguishable at 95% (the interval covers 0).")
    return notes


# --- Markdown ------------------------------------------------------------------------------------


def markdown(report: Report) -> str:
    lines = ["# Report", "", "## What the numbers rest on", ""]
    lines += [f"- {line}" for line in report.basis]
    lines += ["- Setups: " + "; ".join(f"{r.label} = `{r.path.name}`" for r in report.runs)]
    if report.mismatch:
        lines += ["", "**Mismatched settings (compared with --allow-mismatch, marked †):**", ""]
        lines += [f"- {note}" for note in report.mismatch]
    for table in report.tables:
        lines += ["", f"### {table.title}", "", md_table(table)]
        for note in _notes(table):
            lines += ["", f"*{note}*"]
    for figure in report.figures:
        if "png" in figure.paths:
            lines += ["", f"![{figure.title}](figures/{figure.paths['png'].name})", "", f"*{figure.caption}*"]
    return "\n".join(lines) + "\n"


def first_column(table: Table) -> str:
    return {"probes_languages": "language", "ranking": "family · paradigm"}.get(table.key, "setup")


def md_table(table: Table) -> str:
    header = [first_column(table)] + table.columns
    rows = [[label] + [cell_text(table, c, cell) for c, cell in zip(table.columns, cells)] for label, cells in table.rows]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# --- LaTeX ---------------------------------------------------------------------------------------

_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"$<$", ">": r"$>$", "Δ": r"$\Delta$", "ρ": r"$\rho$", "–": "--", "·": r"$\cdot$",
                  "†": r"\dag{}", "°": r"$^\circ$", "→": r"$\to$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _best_rows(table: Table) -> dict[int, set[int]]:
    """column index -> rows holding the column's highest value (accuracy-like tables)."""
    if not table.best:
        return {}
    best = {}
    for j in range(len(table.columns)):
        values = [cells[j].value for _, cells in table.rows]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if finite:
            top = max(finite)
            best[j] = {i for i, v in enumerate(values) if v is not None and abs(v - top) < 1e-9}
    return best


def latex(report: Report) -> str:
    parts = ["% Generated by `harness report`; needs \\usepackage{booktabs}."]
    for table in report.tables:
        best = _best_rows(table)
        header = [first_column(table)] + table.columns
        body = []
        for i, (label, cells) in enumerate(table.rows):
            texts = []
            for j, (column, cell) in enumerate(zip(table.columns, cells)):
                text = latex_escape(cell_text(table, column, cell, pm="±")).replace("±", r"$\pm$")
                texts.append(rf"\textbf{{{text}}}" if i in best.get(j, set()) else text)
            body.append(" & ".join([latex_escape(label)] + texts) + r" \\")
        caption = latex_escape(table.title + (". " + " ".join(_notes(table)) if _notes(table) else ""))
        parts += [r"\begin{table}[t]", r"\centering", r"\small",
                  rf"\begin{{tabular}}{{l{'r' * len(table.columns)}}}", r"\toprule",
                  " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule", *body, r"\bottomrule",
                  r"\end{tabular}", rf"\caption{{{caption}}}", rf"\label{{tab:{latex_escape(table.key)}}}",
                  r"\end{table}", ""]
    return "\n".join(parts)


# --- CSV -----------------------------------------------------------------------------------------


def csv_text(report: Report) -> str:
    """One row per table x setup x column, with the value, its bounds and p (percent where the
    table is in percent)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "family", "setup", "column", "value", "low", "high", "p", "text"])
    metric_of = {r.family: r.data.metric for r in report.results}
    for table in report.tables:
        for label, cells in table.rows:
            for column, cell in zip(table.columns, cells):
                writer.writerow([table.key, f"{table.family or ''}" + (f" {metric_of[table.family]}" if table.family in metric_of else ""),
                                 label, column, _raw(cell.value), _raw(cell.low), _raw(cell.high), _raw(cell.p),
                                 cell.text or ""])
    return buffer.getvalue()


def _raw(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(round(float(value), 6))


# --- HTML ----------------------------------------------------------------------------------------

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:14px}th,td{padding:3px 9px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #444}tbody tr:nth-child(even){background:#f4f4f4}
.note{color:#555;font-size:13px}img{max-width:100%;border:1px solid #ddd}.mismatch{color:#a33}"""


def html_page(report: Report) -> str:
    esc: Callable[[str], str] = html.escape
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>harness report</title>",
           f"<style>{_STYLE}</style></head><body><h1>Report</h1><h2>What the numbers rest on</h2><ul>"]
    out += [f"<li>{esc(line)}</li>" for line in report.basis] + ["</ul>"]
    if report.mismatch:
        out += ["<p class='mismatch'><b>Mismatched settings (marked †):</b></p><ul class='mismatch'>"]
        out += [f"<li>{esc(n)}</li>" for n in report.mismatch] + ["</ul>"]
    for table in report.tables:
        out += [f"<h3>{esc(table.title)}</h3><table><thead><tr><th>{esc(first_column(table))}</th>"]
        out += [f"<th>{esc(c)}</th>" for c in table.columns] + ["</tr></thead><tbody>"]
        for label, cells in table.rows:
            out.append(f"<tr><td>{esc(label)}</td>" + "".join(
                f"<td>{esc(cell_text(table, c, cell))}</td>" for c, cell in zip(table.columns, cells)) + "</tr>")
        out += ["</tbody></table>"] + [f"<p class='note'>{esc(n)}</p>" for n in _notes(table)]
    for figure in report.figures:
        if figure.png:
            data = base64.b64encode(figure.png).decode("ascii")
            out += [f"<h3>{esc(figure.title)}</h3><img alt='{esc(figure.title)}' src='data:image/png;base64,{data}'>",
                    f"<p class='note'>{esc(figure.caption)}</p>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render(report: Report, fmt: str) -> str:
    return {"md": markdown, "latex": latex, "csv": csv_text, "html": html_page}[fmt](report)
