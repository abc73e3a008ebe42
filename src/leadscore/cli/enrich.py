"""``leadscore enrich`` and ``leadscore next-questions``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..data.io import load_inputs, output_format, write_relation
from ..errors import DataError, UsageError
from .common import console, fmt_score, load_models, parse_as_of


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def print_summary(summary, report, out: Path) -> None:
    from ..enrich.batch import EnrichReport
    from ..enrich.summary import Summary

    assert isinstance(summary, Summary) and isinstance(report, EnrichReport)
    rate = report.rows / report.seconds if report.seconds else 0.0
    console.print(
        f"[bold green]enriched[/] {report.rows:,} contacts in {report.seconds:.2f}s "
        f"({rate:,.0f}/s) → {out}"
    )
    read = ", ".join(f"{k} from {v!r}" for k, v in report.inputs.items() if v) or "nothing"
    console.print(f"read: {read}", markup=False)
    c = summary.counts
    table = Table(header_style="bold", title="Summary", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_row("contacts", f"{summary.contacts:,}", "")
    for label, whole in (
        ("valid e-mails", "e-mails"),
        ("free e-mails", "valid e-mails"),
        ("deliverable e-mails", "valid e-mails"),
        ("valid phones", "phones"),
        ("countries recognised", "countries given"),
        ("company domains", "valid e-mails"),
    ):
        if label in c and c.get(whole):  # leave out what the file has no input for
            table.add_row(
                label,
                f"{c[label]:,} of {c.get(whole, 0):,}",
                _pct(c[label], c.get(whole, 0)),
            )
    if c.get("IP addresses"):
        table.add_row("IP addresses", f"{c['IP addresses']:,}", "")
    console.print(table)
    for name, rows in summary.breakdowns.items():
        if not rows:
            continue
        total = sum(n for _, n in rows)
        line = ", ".join(f"{v} {n:,} ({_pct(n, total)})" for v, n in rows)
        console.print(f"[bold]{name}[/]: {line}")


def enrich(
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write: .csv, .parquet or .jsonl."),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    check_deliverability: bool = typer.Option(
        False,
        "--check-deliverability",
        help="Also look up each e-mail domain in DNS (MX) and add email_deliverable. "
        "Needs network access; off by default.",
    ),
    fill_country: bool = typer.Option(
        True,
        "--fill-country/--no-fill-country",
        help="Give contacts with no country the phone's country, or else the IP's.",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Add the offline enrichment properties (email_type, phone_country, seniority, …)
    to a contacts file and write it out, with a summary."""
    from ..enrich import EnrichOptions, enrich_table
    from ..enrich.summary import summarise

    output_format(out)  # refuse an unknown output type before doing the work
    if out.resolve() == contacts.resolve():
        raise UsageError(f"--out {str(out)!r} is the input file; write to another file")
    inputs = load_inputs(contacts, id_column=id_column, tables=True)  # enriched in place
    options = EnrichOptions(check_deliverability=check_deliverability, fill_country=fill_country)
    report = enrich_table(
        inputs.con, "contacts", options=options, progress=progress and not as_json
    )
    write_relation(inputs.con, "SELECT * FROM contacts", out)
    summary = summarise(inputs.con, "contacts")
    if as_json:
        print(
            json.dumps(
                {
                    "contacts": summary.contacts,
                    "seconds": round(report.seconds, 3),
                    "columns_added": report.columns_added,
                    "inputs": report.inputs,
                    "counts": summary.counts,
                    "breakdowns": {k: dict(v) for k, v in summary.breakdowns.items()},
                    "out": str(out),
                },
                indent=2,
            )
        )
        return
    print_summary(summary, report, out)


def _contact(inputs, contact_id: str, source: Path) -> tuple[dict, list[dict]]:
    con = inputs.con
    cur = con.execute("SELECT * FROM contacts WHERE id = ?", [contact_id])
    row = cur.fetchone()
    if row is None:
        near = [
            r[0]
            for r in con.execute(
                "SELECT id FROM contacts ORDER BY levenshtein(id, ?), id LIMIT 3", [contact_id]
            ).fetchall()
        ]
        raise DataError(
            f"no contact with id {contact_id!r}",
            source=str(source),
            hint=("ids close to it: " + ", ".join(near)) if near else None,
        )
    names = [d[0] for d in cur.description]
    contact = {k: v for k, v in zip(names, row, strict=True) if v is not None}
    events: list[dict] = []
    if inputs.has_events:
        from datetime import UTC, datetime, timedelta

        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        cols = ["event_id", "type", "ts", *inputs.attributes]
        exprs = ["epoch_us(ts)" if c == "ts" else '"' + c.replace('"', '""') + '"' for c in cols]
        cur = con.execute(
            f"SELECT {', '.join(exprs)} FROM events WHERE contact_id = ? ORDER BY ts",
            [contact_id],
        )
        for ev in cur.fetchall():
            event = {c: v for c, v in zip(cols, ev, strict=True) if v is not None}
            event["ts"] = epoch + timedelta(microseconds=event["ts"])
            events.append(event)
    return contact, events


def next_questions_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Model YAML."),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    contact_id: str = typer.Option(..., "--id", help="The contact to ask."),
    fields: str = typer.Option(
        ..., "--fields", "-f", help="Candidate form fields, comma-separated, e.g. job_title,phone."
    ),
    n: int = typer.Option(3, "--n", "-n", min=1, help="How many questions to return."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO 8601; default now)."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    enrich_answers: bool = typer.Option(
        True, "--enrich/--no-enrich", help="Re-run the offline enrichment on each answer tried."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Rank the contact's unknown fields by how much their answer could change its
    score, grade or stage under the model, and show the best N to ask next."""
    from ..evaluate.profiling import next_questions

    (loaded,) = load_models([model])
    when = parse_as_of(as_of)
    candidates = [f.strip() for f in fields.split(",") if f.strip()]
    if not candidates:
        raise UsageError("--fields is empty; list the form fields to rank, e.g. job_title,phone")
    inputs = load_inputs(contacts, events, id_column=id_column)
    contact, evs = _contact(inputs, contact_id, contacts)
    known = [f for f in candidates if f in contact and str(contact[f]).strip()]
    questions = next_questions(
        loaded, contact, candidates, n, events=evs, as_of=when, enrich=enrich_answers
    )
    if as_json:
        print(
            json.dumps(
                {
                    "contact_id": contact_id,
                    "model": loaded.name,
                    "as_of": when.isoformat(),
                    "known": known,
                    "questions": [q.to_dict() for q in questions],
                },
                indent=2,
                default=str,
            )
        )
        return
    now = questions[0].now if questions else None
    head = f"[bold]{contact_id}[/] under {loaded.name}"
    if now is not None:
        head += (
            f": total {fmt_score(now.total)}, grade {now.grade or '-'}, stage {now.stage or '-'}"
        )
    console.print(head)
    if known:
        console.print("already known: " + ", ".join(known), markup=False)
    if not questions:
        console.print("no unknown field among these can change the score, grade or stage")
        return
    table = Table(header_style="bold")
    for col, justify in (
        ("#", "right"),
        ("field", "left"),
        ("total could range", "right"),
        ("stages", "left"),
        ("grades", "left"),
        ("best answer tried", "left"),
        ("worst answer tried", "left"),
    ):
        table.add_column(col, justify=justify)
    for i, q in enumerate(questions, start=1):
        table.add_row(
            str(i),
            q.field,
            f"{fmt_score(q.lowest.total)} – {fmt_score(q.highest.total)}",
            ", ".join(q.stages),
            ", ".join(q.grades) or "-",
            str(q.highest.value),
            str(q.lowest.value),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich)
    app.command("next-questions")(next_questions_cmd)
