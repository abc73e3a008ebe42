"""A self-contained HTML report of a backtest: one file, charts inline, opens offline.

Charts are SVG embedded as ``data:`` images (no script, no font or style sheet
from elsewhere), so the file can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from .backtest import Backtest
from .summary import headline, metric_rows, num, pct

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827;
       max-width: 1100px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.lead { color: #374151; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f9fafb; font-weight: 600; }
.warn { background: #fffbeb; border: 1px solid #fcd34d; padding: 8px 12px; border-radius: 6px; }
.flag { color: #b45309; } .muted { color: #6b7280; }
img.chart { width: 100%; max-width: 900px; height: auto; display: block; margin: 8px 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; align-items: start; }
code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="chart" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def build_html(bt: Backtest, charts: dict[str, str] | None = None) -> str:
    """The report as one HTML string; ``charts`` maps chart names to SVG text."""
    if charts is None:
        from .charts import render_svg

        charts = render_svg(bt)
    names = [v.name for v in bt.variants]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Backtest: {escape(', '.join(names))}</title><style>{CSS}</style></head><body>",
        "<h1>Backtest</h1>",
        f"<p class='lead'>{escape(headline(bt))}</p>",
    ]
    if bt.sources and any(bt.sources.values()):
        parts.append(
            "<p class='muted'>Models: "
            + ", ".join(f"{escape(k)} (<code>{escape(v)}</code>)" for k, v in bt.sources.items())
            + f". The first, {escape(names[0])}, is the baseline of the differences.</p>"
        )
    if bt.warnings:
        parts.append("<div class='warn'>" + "<br>".join(escape(w) for w in bt.warnings) + "</div>")
    parts.append("<h2>Metrics</h2>")
    parts.append(
        _table(["metric", *names], [[escape(lbl), *map(escape, c)] for lbl, c in metric_rows(bt)])
    )
    if "intervals" in charts:
        parts.append(_img(charts["intervals"], "AUC and lift with bootstrap intervals"))
    parts.append("<h2>Gain and lift</h2>")
    parts.append(
        "<p>How many of the conversions a team finds by working down the list from the top "
        "score. The dashed line is a random order.</p>"
    )
    parts.append(_img(charts["gain"], "gain and lift curves"))
    parts.append("<h2>Scores of converters and others</h2>")
    parts.append(_img(charts["distribution"], "score distribution by outcome"))
    parts.append("<h2>Conversion by score band</h2>")
    parts.append(_img(charts["bands"], "conversion by score band"))
    parts.append(_bands_table(bt))
    parts.append("<div class='grid'><div>")
    parts.append("<h3>Calibration</h3>")
    parts.append(_img(charts["calibration"], "calibration"))
    parts.append("</div><div>")
    parts.append(_grades_table(bt))
    parts.append("</div></div>")
    if "rules" in charts:
        parts.append("<h2>Rules</h2>")
        parts.append(
            "<p>For each rule: how many contacts it fires on, the conversion rate where it fires "
            "and where it does not, and how much AUC the model loses when the rule is removed "
            "(negative: the model ranks better without it).</p>"
        )
        parts.append(_img(charts["rules"], "per-rule effect on AUC"))
        for v in bt.variants:
            parts.append(f"<h3>{escape(v.name)}</h3>")
            parts.append(
                _table(
                    [
                        "rule",
                        "group",
                        "fires on",
                        "conv. with",
                        "conv. without",
                        "mean points",
                        "AUC without",
                        "AUC effect",
                        "flags",
                    ],
                    [
                        [
                            escape(r.rule),
                            escape(r.group),
                            f"{r.fires_on} ({pct(r.fires_share)})",
                            pct(r.conversion_with),
                            pct(r.conversion_without),
                            f"{r.mean_points:+.1f}",
                            num(r.auc_without),
                            f"{r.auc_effect:+.4f}",
                            f"<span class='flag'>{escape('; '.join(r.flags))}</span>",
                        ]
                        for r in v.rules
                    ],
                )
            )
    parts.append(_method(bt))
    parts.append("</body></html>")
    return "\n".join(parts)


def _bands_table(bt: Backtest) -> str:
    labels = [b.label for b in bt.variants[0].bands]
    if not all([b.label for b in v.bands] == labels for v in bt.variants):
        return ""
    rows = []
    for i, label in enumerate(labels):
        cells = [escape(label)]
        for v in bt.variants:
            b = v.bands[i]
            cells.append(f"{b.contacts} · {pct(b.conversion_rate)}" if b.contacts else "·")
        rows.append(cells)
    return _table(["band (contacts · converted)", *[v.name for v in bt.variants]], rows)


def _grades_table(bt: Backtest) -> str:
    out = []
    for title, attr in (("Conversion by grade", "grades"), ("Conversion by stage", "stages")):
        rows = []
        for v in bt.variants:
            for b in getattr(v, attr):
                rows.append(
                    [escape(v.name), escape(b.label), str(b.contacts), pct(b.conversion_rate)]
                )
        if rows:
            out.append(f"<h3>{title}</h3>")
            out.append(_table(["model", attr[:-1], "contacts", "converted"], rows))
    return "".join(out)


def _method(bt: Backtest) -> str:
    o, opts = bt.outcome, bt.options
    boot = (
        f"{bt.bootstrap.resamples} paired bootstrap resamples (seed {bt.bootstrap.seed}), "
        f"{bt.bootstrap.level:.0%} percentile intervals; the same resample is used for every "
        "model, so the difference of two models has its own interval"
        if bt.bootstrap
        else "no bootstrap (--bootstrap 0)"
    )
    timing = (
        f"each contact with a value in {o.time_column!r} is scored as of just before it "
        f"({o.with_time} contacts); the others as of {o.cutoff.isoformat()}"
        if o.time_column
        else f"every contact is scored as of {o.cutoff.isoformat()} ({o.cutoff_source})"
    )
    items = [
        f"Outcome: {escape(o.column)} (1/0, true/false or yes/no); contacts without a value "
        f"are left out ({o.missing}).",
        f"Point in time: {escape(timing)}.",
        "Ties: AUC counts a tied converter/non-converter pair as ½; average precision takes one "
        "threshold per distinct score; the top x % shares a boundary tie pro rata.",
        f"Intervals: {escape(boot)}.",
        f"{escape(opts.stage)} and above: the stage and every stage listed before it in the "
        "model's thresholds; excluded contacts are never MQLs.",
        "Rule effect: AUC of the model minus AUC of the same model with the rule removed.",
    ]
    return "<h2>Method</h2><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def write_report(bt: Backtest, path: str | Path) -> Path:
    """Write the report; the file needs nothing else to open."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_html(bt), encoding="utf-8")
    return target
