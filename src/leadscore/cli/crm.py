"""``leadscore crm import|sync|log`` and ``leadscore export``: the CRM and file ends.

Tokens come from the environment variables named in the integrations config
(``HUBSPOT_TOKEN`` and ``PIPEDRIVE_TOKEN`` by default); they are never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import LeadscoreError, UsageError
from .common import console, load_models, parse_as_of

SYSTEMS = ("hubspot", "pipedrive")
CONFIG_HELP = "Integrations config (YAML): crm, hooks, tracking."


def _connector(system: str, config_path: Path | None):
    from ..integrations.config import load_config

    if system not in SYSTEMS:
        raise UsageError(f"unknown CRM {system!r}; choose one of: {', '.join(SYSTEMS)}")
    config = load_config(config_path)
    section = getattr(config.crm, system)
    if section is None:
        from ..integrations.config import HubSpotConfig, PipedriveConfig

        section = HubSpotConfig() if system == "hubspot" else PipedriveConfig()
    if system == "hubspot":
        from ..integrations.crm.hubspot import HubSpotConnector

        return section, HubSpotConnector.from_config(section)
    from ..integrations.crm.pipedrive import PipedriveConnector

    return section, PipedriveConnector.from_config(section)


def crm_import(
    system: str = typer.Option(..., "--system", "-s", help="hubspot or pipedrive."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Contacts file to write (.csv/.parquet/.jsonl)."
    ),
    events_out: Path | None = typer.Option(
        None, "--events-out", help="Also import engagement events here (HubSpot only)."
    ),
    database: str | None = typer.Option(
        None,
        "--database",
        help="Or import straight into the service's store (sqlite:///… or postgresql://…): "
        "contacts and HubSpot events, scored by the published models.",
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    limit: int | None = typer.Option(None, "--limit", help="Stop after this many contacts."),
) -> None:
    """Import the CRM's contacts (and HubSpot engagement events) into files or the service."""
    from ..data.io import connect, output_format, write_rows

    if (out is None) == (database is None):
        raise UsageError("give either --out FILE or --database URL")
    if out is not None:
        output_format(out)
    if events_out is not None:
        output_format(events_out)
        if system != "hubspot":
            raise UsageError("--events-out works with --system hubspot only")
        if out is None:
            raise UsageError("--events-out goes with --out (with --database events go there)")
    _, conn = _connector(system, config)
    if database is not None:
        try:
            _import_to_service(conn, database, limit)
        finally:
            conn.close()
        return
    contacts = []
    try:
        with console.status(f"reading contacts from {system}…"):
            for c in conn.contacts():
                contacts.append(c)
                if limit is not None and len(contacts) >= limit:
                    break
        rows = []
        for c in contacts:
            cid = c.email or f"{system}-{c.external_id}"
            rows.append({"id": cid, **{k: str(v) for k, v in c.properties.items()}})
        columns = ["id", *sorted({k for r in rows for k in r if k != "id"})]
        con = connect()
        write_rows(con, [{k: r.get(k) for k in columns} for r in rows], columns, out)
        console.print(f"wrote {len(rows)} contacts to {out}", markup=False)
        if events_out is not None:
            events = []
            with console.status("reading engagement events…"):
                for ev in conn.events(contacts):
                    events.append(
                        {
                            "contact_id": ev.email or f"{system}-{ev.contact_id}",
                            "event_id": ev.event_id,
                            "type": ev.type,
                            "ts": ev.ts.isoformat(),
                            "url": ev.attributes.get("url"),
                            "form_id": ev.attributes.get("form_id"),
                        }
                    )
            cols = ["contact_id", "event_id", "type", "ts", "url", "form_id"]
            write_rows(con, events, cols, events_out)
            console.print(f"wrote {len(events)} events to {events_out}", markup=False)
    finally:
        conn.close()


def _import_to_service(conn: Any, database: str, limit: int | None) -> None:
    from ..integrations.inbound.base import HookRejected
    from ..integrations.service_sink import ServiceSink
    from ..service.core import Service
    from ..service.settings import load_settings

    svc = Service(load_settings({"database": database}))
    sink = ServiceSink(svc, actor=f"crm-import:{conn.system}", reasons=0)
    try:
        contacts = []
        with console.status(f"reading contacts from {conn.system}…"):
            for c in conn.contacts():
                contacts.append(c)
                if limit is not None and len(contacts) >= limit:
                    break
        with console.status("storing contacts…"):
            sink.upsert_contacts(contacts)
        console.print(f"imported {len(contacts)} contacts into the store", markup=False)
        events = list(conn.events(contacts))
        if events:
            results = sink.ingest(events)
            new = sum(1 for r in results if r.get("status") == "accepted")
            console.print(
                f"imported {new} events ({len(events) - new} already there)", markup=False
            )
    except HookRejected as exc:  # a value the store cannot keep: say which, store no more
        raise LeadscoreError(f"the {conn.system} import stopped: {exc.detail}") from None
    finally:
        svc.store.dispose()


def crm_sync(
    system: str = typer.Option(..., "--system", "-s", help="hubspot or pipedrive."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    scores: Path | None = typer.Option(
        None, "--scores", help="Scores file from `leadscore export` (with email, top_reasons)."
    ),
    model: list[Path] = typer.Option(
        [], "--model", "-m", help="Or score now: model YAML (with --contacts)."
    ),
    contacts: Path | None = typer.Option(None, "--contacts", "-c", help="Contacts file."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file."),
    database: str | None = typer.Option(
        None, "--database", help="Or the service's current scores, from its store."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Score as of (ISO 8601; default now)."),
    state: Path = typer.Option(
        Path(".leadscore-crm-state.json"),
        "--state",
        help="Values last written per contact: unchanged scores are not sent again.",
    ),
    log_file: Path | None = typer.Option(None, "--log", help="Append the sync log (JSON Lines)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; send nothing."),
) -> None:
    """Write changed scores, grades, stages and top reasons to the CRM."""
    from ..integrations.crm import CrmSync, SyncLog, SyncState
    from ..integrations.exports import score_rows, updates_from_rows

    when = parse_as_of(as_of)
    if sum([scores is not None, bool(model), database is not None]) != 1:
        raise UsageError("give one of --scores FILE, --model with --contacts, or --database URL")
    section, conn = _connector(system, config)
    try:
        if database is not None:
            rows = _service_rows(database, section.reasons, section.id_property)
        elif scores is not None:
            from ..data.io import connect

            con = connect()
            rows = _read_rows(con, scores)
        else:
            if contacts is None:
                raise UsageError("--model needs --contacts (and usually --events)")
            models = load_models(model)
            rows, _, _ = score_rows(
                models, contacts, events, when, reasons=section.reasons, keep=[section.id_property]
            )
        updates = updates_from_rows(
            rows, when, model=section.model, id_property=section.id_property
        )
        sync = CrmSync(conn, state=SyncState(state), log=SyncLog(log_file))
        if dry_run:
            todo, same = sync.changed(updates)
            console.print(f"{len(todo)} contacts would be written, {same} unchanged", markup=False)
            return
        report = sync.push(updates)
    finally:
        conn.close()
    table = Table(title=f"{system} sync")
    for col in ("written", "unchanged", "failed", "pending", "batches"):
        table.add_column(col, justify="right")
    table.add_row(*(str(getattr(report, c)) for c in ("written", "unchanged", "failed",
                                                       "pending", "batches")))  # fmt: skip
    console.print(table)
    for err in report.errors[:10]:
        console.print(f"[red]failed:[/] {escape(err)}", markup=True, highlight=False)
    if report.stopped:
        raise LeadscoreError(f"the sync stopped early: {report.stopped}")
    if report.failed:
        raise LeadscoreError(
            f"{report.failed} contact(s) not written (errors above); they are sent again "
            "on the next sync"
        )


def _service_rows(database: str, reasons: int, id_property: str) -> list[dict[str, Any]]:
    """The service's stored scores as export rows (with reasons from the breakdowns)."""
    import sqlalchemy as sa

    from ..reasons import reasons_from_breakdown
    from ..service.published import live_names
    from ..service.settings import load_settings
    from ..store import Store
    from ..store import tables as T

    store = Store(load_settings({"database": database}).database, migrate=False)
    s, c = T.scores.c, T.contacts.c
    try:
        with store.read() as conn:
            found = conn.execute(
                sa.select(s.contact_id, s.model_name, s.total, s.grade, s.stage, s.excluded,
                          s.breakdown, c.email, c.properties)
                .join(T.contacts, c.id == s.contact_id)
                .where(s.model_name.in_(live_names()))  # an unpublished model's: hidden
                .order_by(s.contact_id, s.model_name)
            ).all()  # fmt: skip
    finally:
        store.dispose()
    return [
        {
            "contact_id": r.contact_id,
            "email": r.email,
            "model": r.model_name,
            "total": r.total,
            "grade": r.grade,
            "stage": r.stage,
            "excluded": r.excluded,
            "top_reasons": "; ".join(reasons_from_breakdown(r.breakdown or [], reasons)),
            id_property: (r.properties or {}).get(id_property),
        }
        for r in found
    ]


def _read_rows(con: Any, path: Path) -> list[dict[str, Any]]:
    from ..data.io import source_sql  # the project's one reader of CSV/Parquet/JSONL

    cur = con.execute(f"SELECT * FROM {source_sql(path)}")
    names = [d[0] for d in cur.description]
    missing = {"contact_id", "total"} - set(names)
    if missing:
        raise UsageError(
            f"{path}: no column {', '.join(sorted(missing))}; "
            "write the file with `leadscore export`"
        )
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def export(
    model: list[Path] = typer.Option(..., "--model", "-m", help="Model YAML (repeat for more)."),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet, JSONL."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    out: Path = typer.Option(..., "--out", "-o", help="Scores file (.csv/.parquet/.jsonl)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Score as of (ISO 8601; default now)."),
    reasons: int = typer.Option(3, "--reasons", help="Top reasons per contact."),
) -> None:
    """Export scores with e-mail and top reasons, ready for a CRM or a spreadsheet."""
    from ..integrations.exports import export_scores

    n = export_scores(
        load_models(model), contacts, events, out, parse_as_of(as_of), reasons=reasons
    )
    console.print(f"wrote {n} rows to {out}", markup=False)


def register(app: typer.Typer) -> None:
    crm = typer.Typer(
        help="CRM connectors: import contacts, write scores back.", no_args_is_help=True
    )
    crm.command("import")(crm_import)
    crm.command("sync")(crm_sync)
    app.add_typer(crm, name="crm")
    app.command("export")(export)
