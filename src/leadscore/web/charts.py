"""Small charts drawn on the server as inline SVG (no JavaScript, readable by screen readers).

Each function returns SVG markup with a ``<title>`` and ``<desc>``; points and
bars carry their own ``<title>`` so hovering (or a screen reader) gives the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup

INK, GRID, ACCENT, SECOND = "#1f2937", "#e5e7eb", "#2563eb", "#16a34a"
EVENT_COLOURS = {
    "page_view": "#94a3b8",
    "email_open": "#a5b4fc",
    "email_click": "#6366f1",
    "form_submit": "#ea580c",
    "asset_download": "#0891b2",
    "webinar_registered": "#a855f7",
    "webinar_attended": "#7e22ce",
    "adjustment": "#dc2626",
}


@dataclass(frozen=True)
class Marker:
    at: datetime
    label: str
    kind: str


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" class="chart"><title>{_e(title)}</title>'
        f"<desc>{_e(desc)}</desc>" + "".join(body) + "</svg>"
    )


def score_over_time(
    points: Sequence[tuple[datetime, float]],
    markers: Sequence[Marker],
    *,
    low: float,
    high: float,
    thresholds: Sequence[tuple[str, float]] = (),
    width: int = 640,
    height: int = 220,
) -> Markup:
    """The total score as a line, thresholds as dashed lines, events as ticks below."""
    if not points:
        return Markup('<p class="muted">No score history yet.</p>')
    left, right, top, bottom = 36, 8, 10, 46
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = max(t1 - t0, 1.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(when: datetime) -> float:
        return left + (when.timestamp() - t0) / span * plot_w

    def y(v: float) -> float:
        return top + plot_h - (v - low) / ((high - low) or 1) * plot_h

    body = []
    for tick in range(5):
        v = low + (high - low) * tick / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 4}" y="{y(v) + 3:.1f}" font-size="10" '
            f'text-anchor="end" fill="{INK}">{v:g}</text>'
        )
    for name, v in thresholds:
        if low <= v <= high:
            body.append(
                f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                f'stroke="#b45309" stroke-dasharray="4 3"/><text x="{width - right - 2}" '
                f'y="{y(v) - 3:.1f}" font-size="10" text-anchor="end" fill="#b45309">'
                f"{_e(name)} ≥ {v:g}</text>"
            )
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    last_t, last_v = points[-1]
    body.append(
        f'<circle cx="{x(last_t):.1f}" cy="{y(last_v):.1f}" r="3.5" fill="{ACCENT}">'
        f"<title>now: {last_v:.1f}</title></circle>"
    )
    base = height - bottom + 12
    for m in markers:
        if not t0 <= m.at.timestamp() <= t1:
            continue
        colour = EVENT_COLOURS.get(m.kind, "#64748b")
        body.append(
            f'<rect x="{x(m.at) - 1.5:.1f}" y="{base}" width="3" height="12" fill="{colour}">'
            f"<title>{_e(m.at.strftime('%Y-%m-%d %H:%M'))}: {_e(m.label)}</title></rect>"
        )
    for frac in (0, 0.5, 1):
        when = datetime.fromtimestamp(t0 + span * frac, tz=points[0][0].tzinfo)
        anchor = "start" if frac == 0 else ("end" if frac == 1 else "middle")
        body.append(
            f'<text x="{left + plot_w * frac:.1f}" y="{height - 6}" font-size="10" '
            f'text-anchor="{anchor}" fill="{INK}">{when:%Y-%m-%d}</text>'
        )
    desc = (
        f"Score from {points[0][1]:.1f} on {points[0][0]:%Y-%m-%d} to {last_v:.1f} now; "
        f"{len(markers)} events and adjustments shown as ticks."
    )
    return _frame(width, height, "Score over time", desc, body)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    colour: str = ACCENT,
    rates: Sequence[float | None] | None = None,
    width: int = 560,
    height: int = 200,
    unit: str = "",
) -> Markup:
    """A bar chart; with ``rates`` a second series (0–1) drawn as dots on a right axis."""
    left, right, top, bottom = 36, 36 if rates else 8, 24 if rates else 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_v = max([*values, 1])
    n = max(len(values), 1)
    slot = plot_w / n
    body = []
    for tick in range(5):
        v = top_v * tick / 4
        yy = top + plot_h - v / top_v * plot_h
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{yy + 3:.1f}" font-size="10" text-anchor="end" '
            f'fill="{INK}">{v:.0f}</text>'
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = v / top_v * plot_h
        xx = left + i * slot + slot * 0.15
        body.append(
            f'<rect x="{xx:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{_e(label)}: {v:g}{_e(unit)}</title></rect>'
        )
        if i % max(1, n // 8) == 0 or n <= 12:
            body.append(
                f'<text x="{xx + slot * 0.35:.1f}" y="{height - bottom + 13}" font-size="9.5" '
                f'text-anchor="middle" fill="{INK}">{_e(label)}</text>'
            )
    if rates:
        body.append(
            f'<text x="{width - 2}" y="10" font-size="10" text-anchor="end" '
            f'fill="{SECOND}">converted</text>'
        )
        pts = []
        for i, r in enumerate(rates):
            if r is None:
                continue
            xx = left + i * slot + slot / 2
            yy = top + plot_h - r * plot_h
            pts.append(f"{xx:.1f},{yy:.1f}")
            body.append(
                f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="3.5" fill="{SECOND}">'
                f"<title>{_e(labels[i])}: {r:.0%} converted</title></circle>"
            )
        if len(pts) > 1:
            body.append(
                f'<polyline points="{" ".join(pts)}" fill="none" stroke="{SECOND}" '
                'stroke-width="1.5"/>'
            )
        for tick in (0, 0.5, 1):
            yy = top + plot_h - tick * plot_h
            body.append(
                f'<text x="{width - right + 4}" y="{yy + 3:.1f}" font-size="10" '
                f'fill="{SECOND}">{tick:.0%}</text>'
            )
    desc = "; ".join(f"{lab}: {v:g}" for lab, v in zip(labels, values, strict=True))
    return _frame(width, height, title, desc, body)
