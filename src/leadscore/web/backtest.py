"""The backtest page: a draft against the published version, on the store's own history.

The store's contacts and events are written to a temporary Parquet pair and
read back through :func:`leadscore.data.io.load_inputs`, then
:func:`leadscore.evaluate.run_backtest` scores both versions point in time and
the report opens with a sentence or two in plain words (converters found in the
top 10 %, and the draft against the published version) and keeps its tables and
charts, side by side, in a collapsed "Statistics" block one click below.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import LeadscoreError
from ..store import tables as T
from .base import Page, PageError, current, form

router = APIRouter(include_in_schema=False)
MV = T.model_versions.c
RESAMPLES = 200  # bootstrap resamples: enough for a readable interval on a page
CHART_TITLES = {
    "gain": "Gain and lift",
    "distribution": "Score distribution",
    "bands": "Conversion by score band",
    "calibration": "Calibration",
    "intervals": "Bootstrap intervals",
    "rules": "Rules",
}


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    return str(v)


def export_store(conn: sa.Connection, folder: Path) -> tuple[Path, Path, list[str]]:
    """Write the store's contacts and events as Parquet; returns the paths and property names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = conn.execute(sa.select(T.contacts).order_by(T.contacts.c.id)).all()
    keys = sorted({k for r in rows for k in (r.properties or {}) if k not in ("id",)})
    cols: dict[str, list] = {"id": [r.id for r in rows]}
    for k in keys:
        cols[k] = [_text((r.properties or {}).get(k)) for r in rows]
    cpath = folder / "contacts.parquet"
    pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}), cpath)
    events = conn.execute(sa.select(T.events).order_by(T.events.c.seq)).all()
    attrs = sorted({k for e in events for k in (e.attributes or {})} - {"contact_id", "type", "ts"})
    ecols: dict[str, Any] = {
        "contact_id": pa.array([e.contact_id for e in events], pa.string()),
        "event_id": pa.array([e.idempotency_key or f"e{e.seq}" for e in events], pa.string()),
        "type": pa.array([e.type for e in events], pa.string()),
        "ts": pa.array([e.ts for e in events], pa.timestamp("us", tz="UTC")),
    }
    for k in attrs:
        ecols[k] = pa.array([_text((e.attributes or {}).get(k)) for e in events], pa.string())
    epath = folder / "events.parquet"
    pq.write_table(pa.table(ecols), epath)
    return cpath, epath, keys


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@router.get("/backtest", response_class=HTMLResponse)
def backtest_page(
    page: Page = Depends(current), name: str | None = None, version: int | None = None
) -> Response:
    with page.svc.store.read() as conn:
        rows = conn.execute(sa.select(T.model_versions).order_by(MV.name, MV.version.desc())).all()
        sample = conn.execute(sa.select(T.contacts.c.properties).limit(200)).scalars().all()
    keys = sorted({k for p in sample for k in (p or {})})
    return page.render(
        "backtest.html",
        rows=rows,
        name=name,
        version=version,
        keys=keys,
        outcome="converted" if "converted" in keys else "",
        outcome_time="converted_at" if "converted_at" in keys else "",
        report=None,
    )


@router.post("/backtest", response_class=HTMLResponse)
async def run(page: Page = Depends(current)) -> Response:
    data = await form(page)
    # A backtest scores the whole store: in a worker thread, never on the event loop.
    return await run_in_threadpool(_run, page, data)


def _run(page: Page, data: dict[str, str]) -> Response:
    from ..data.io import load_inputs
    from ..evaluate import Options, run_backtest
    from ..evaluate.charts import render_svg
    from ..evaluate.summary import headline, metric_rows, plain_words

    choice = data.get("draft", "")
    name, _, num = choice.rpartition("@")
    outcome = data.get("outcome", "").strip()
    outcome_time = data.get("outcome_time", "").strip() or None
    if not name or not num.isdigit():
        raise PageError(422, "choose the draft version to backtest")
    if not outcome:
        raise PageError(422, "name the contact property that says who converted (e.g. converted)")
    with page.svc.store.read() as conn:
        rows = conn.execute(sa.select(T.model_versions).where(MV.name == name)).all()
        draft = next((r for r in rows if r.version == int(num)), None)
        published = next((r for r in rows if r.status == "published"), None)
        if draft is None:
            raise PageError(404, f"no version {num} of {name!r}")
        models = []
        for r, label in ((published, "published"), (draft, r"draft")):
            if r is None or (label == "draft" and published is not None and r.id == published.id):
                continue
            parsed = page.svc.models.parse(r.id, r.yaml)
            models.append(parsed.model_copy(update={"name": f"{r.name} v{r.version} ({r.status})"}))
        with tempfile.TemporaryDirectory(prefix="leadscore-web-backtest-") as tmp:
            cpath, epath, _ = export_store(conn, Path(tmp))
            try:
                inputs = load_inputs(cpath, epath)
                bt = run_backtest(
                    models,
                    inputs,
                    outcome=outcome,
                    outcome_time=outcome_time,
                    options=Options(resamples=RESAMPLES),
                )
            except LeadscoreError as exc:
                raise PageError(422, str(exc)) from None
    charts = [(CHART_TITLES.get(k, k), _data_uri(v)) for k, v in render_svg(bt).items()]
    report = {
        "words": plain_words(bt),
        "headline": headline(bt),
        "warnings": bt.warnings,
        "names": [v.name for v in bt.variants],
        "metrics": metric_rows(bt),
        "bands": [(v.name, v.bands) for v in bt.variants],
        "charts": charts,
    }
    return page.render("_backtest_report.html", report=report)
