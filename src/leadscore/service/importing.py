"""Bulk import of contacts, events and accounts from files into the service store.

A team starts with its history: ``leadscore import`` loads a contacts file, an events
file and an accounts file, any of them (CSV, Parquet or JSON lines), into the store,
then scores the contacts.

1. **Read and check, before anything is written.** The files are read with DuckDB by
   :func:`leadscore.data.io.load_inputs` (the readers and checks of ``leadscore
   score``: id column, empty or repeated ids, event columns, times), then checked for
   what the store needs (:mod:`.import_checks`): ids the API takes, e-mails on one
   contact only, times the service keeps, no NUL character; an event whose contact is
   neither in the contacts file nor in the store is refused or its contact created, as
   the service's setting ``unknown_contacts`` says for ``POST /v1/events``. Each
   problem is a :class:`~leadscore.errors.DataError` naming the file, the row (counted
   from 1, the header not counted), the column, what is wrong and the fix.
2. **Load, in one write transaction** (:func:`import_files`): accounts are written one
   by one through the API's own account write (``PUT /v1/accounts/ID``); contacts are
   created or
   merged as ``PUT /v1/contacts`` merges them (the file's non-empty values over the
   stored ones, offline enrichment, the links to accounts), a batch of rows per
   statement; an e-mail that belongs to another stored contact is refused. Events are
   written set-based: ``COPY`` into a staging table then one ``INSERT … SELECT`` per
   batch on PostgreSQL, ``executemany`` on SQLite; an idempotency key (the file's
   ``event_id``) already stored, or repeated in the file, counts once, as the API counts
   a retried event. A time ahead of the clock by less than ``max_clock_skew`` is taken
   as the import's time, as the API takes it.
3. **Score**: every contact in the files is rescored under the published models by the
   service's own rescoring path (:func:`~.rescoring.rescore`, a page of contacts at a
   time, in the same transaction), so the stored scores, history and trigger state are
   what a rescoring from scratch gives. Triggers fire only when asked (a history is not
   news); their state follows the new stages either way, as on a publish.

A bad file, or a failure half-way, leaves the store as it was; a check (``check_only``)
does steps 1 and 2 and rolls back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..data import io
from ..errors import DataError, UsageError
from ..store import tables as T
from ..store.links import link_columns
from .core import Service, audit, utcnow
from .import_checks import EMAIL, check_files, quote, unknown_contacts

Progress = Callable[[str, int, int], None]
"""Told ``(step, rows done, rows in the step)`` as the import goes: steps ``checking``,
``accounts``, ``contacts``, ``events`` and ``scoring``."""

BATCH = 20_000  # rows fetched from the files and written per statement
PAGE = 500  # contacts per store look-up (bind parameters) and per rescoring page
# A DuckDB time as the store keeps it: SQLite's text form (naive UTC, what SQLAlchemy
# writes and reads back), PostgreSQL's timestamptz input.
TIME_FORMAT = {"sqlite": "%Y-%m-%d %H:%M:%S.%f", "postgresql": "%Y-%m-%d %H:%M:%S.%f+00"}
STAGE = "leadscore_import_events"  # PostgreSQL: the staging table COPY fills


@dataclass
class ImportReport:
    """What an import read, wrote and scored, and how long it took."""

    accounts_read: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    contacts_read: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    contacts_for_events: int = 0  # created for events whose contact was unknown
    emails_left_out: int = 0  # repeated_emails="first": held by an earlier row or contact
    events_read: int = 0
    events_added: int = 0
    models: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list, repr=False)
    moved_contacts: set[str] = field(default_factory=set, repr=False)  # an account's domain
    scored: int = 0
    checked_only: bool = False
    load_seconds: float = 0.0
    score_seconds: float = 0.0

    @property
    def events_duplicate(self) -> int:
        """Events not added: their idempotency key was stored already or repeated."""
        return self.events_read - self.events_added

    @property
    def rows(self) -> int:
        return self.accounts_read + self.contacts_read + self.events_read

    @property
    def rate(self) -> float:
        """Rows (accounts, contacts, events) loaded per second, reading and checking
        included, scoring not."""
        return self.rows / self.load_seconds if self.load_seconds > 0 else 0.0


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- reading
def read_files(
    contacts: str | Path | None,
    events: str | Path | None,
    *,
    accounts: str | Path | None = None,
    id_column: str | None = None,
) -> io.Inputs:
    """The files as DuckDB tables ``contacts``, ``events`` and ``accounts``, checked as
    ``leadscore score`` checks them (:func:`leadscore.data.io.load_inputs`)."""
    if contacts is None and events is None and accounts is None:
        raise UsageError(
            "nothing to import: give --contacts FILE, --events FILE, --accounts FILE, or several"
        )
    for path in (accounts, contacts, events):
        if path is not None:
            io.check_readable(path)
    if contacts is not None:
        return io.load_inputs(contacts, events, accounts=accounts, id_column=id_column, tables=True)
    if id_column is not None:
        raise UsageError("--id-column names the contacts file's id column: give --contacts too")
    con = io.connect()
    con.execute("CREATE TEMP TABLE contacts (id VARCHAR)")
    con.execute(
        "CREATE TEMP TABLE events (contact_id VARCHAR, event_id VARCHAR, type VARCHAR, "
        "ts TIMESTAMPTZ)"
    )
    inputs = io.Inputs(con=con, properties=[], attributes=[], n_contacts=0)
    if accounts is not None:
        io.load_accounts(con, Path(accounts), inputs)
    if events is not None:
        io.load_events(con, Path(events), inputs, table=True)
    return inputs


# --------------------------------------------------------------------------- writing
def _fetch(con: Any, query: str) -> Iterable[list[tuple[Any, ...]]]:
    cur = con.execute(query)
    while batch := cur.fetchmany(BATCH):
        yield batch


def _contacts(
    conn: sa.Connection,
    svc: Service,
    inputs: io.Inputs,
    source: str,
    now: datetime,
    report: ImportReport,
    progress: Progress,
    *,
    keep_first: bool = False,
) -> None:
    """Create or merge the file's contacts, a batch at a time (see the module's doc)."""
    names = ["id", *inputs.properties]
    cols = ", ".join(quote(n) for n in names)
    c = T.contacts.c
    update = (
        sa.update(T.contacts)
        .where(c.id == sa.bindparam("b_id"))
        .values(
            email=sa.bindparam("email"),
            properties=sa.bindparam("properties"),
            updated_at=sa.bindparam("updated_at"),
            account_ref=sa.bindparam("account_ref"),
            email_domain=sa.bindparam("email_domain"),
        )
    )
    done = 0
    for batch in _fetch(inputs.con, f"SELECT rowid + 1, {cols} FROM contacts"):
        items = []
        for row in batch:
            props = {k: v for k, v in zip(names[1:], row[2:], strict=True) if v is not None}
            email = (props.get(EMAIL) or "").strip().lower() or None
            if email is None:
                props.pop(EMAIL, None)
            else:
                props[EMAIL] = email
            items.append((row[0], row[1], email, props))
        stored: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for start in range(0, len(items), PAGE):
            page = items[start : start + PAGE]
            ids = [i[1] for i in page]
            stored.update(
                (r.id, r) for r in conn.execute(sa.select(T.contacts).where(c.id.in_(ids)))
            )
            emails = [i[2] for i in page if i[2] is not None]
            if emails:
                owners.update(
                    (r.email, r.id)
                    for r in conn.execute(sa.select(c.email, c.id).where(c.email.in_(emails)))
                )
        inserts, updates = [], []
        for row_no, cid, email, props in items:
            other = owners.get(email) if email is not None else None
            if other is not None and other != cid and keep_first:
                report.emails_left_out += 1  # the stored contact had it first
                email = None
                props.pop(EMAIL, None)
            elif other is not None and other != cid:
                raise DataError(
                    f"the e-mail {email!r} already belongs to contact {other!r} in the store",
                    source=source,
                    row=row_no,
                    column=EMAIL,
                    hint=f"give this row the id {other!r} to update that contact, another "
                    "address, or leave it to that contact (--repeated-emails first)",
                )
            old = stored.get(cid)
            if old is None:
                report.contacts_created += 1
                props = svc.enrichment.offline(props, changed=list(props))
                inserts.append(
                    {
                        "id": cid,
                        "email": email,
                        "properties": props,
                        "created_at": now,
                        "updated_at": now,
                        **link_columns(props, email),
                    }
                )
                continue
            before = dict(old.properties or {})
            merged = {**before, **props}
            email = email or old.email
            if email:
                merged[EMAIL] = email
            changed = [k for k in props if before.get(k) != props[k]]
            if email != old.email and EMAIL not in changed:
                changed.append(EMAIL)
            if changed:
                merged = svc.enrichment.offline(merged, changed=changed)
            if merged == before and email == old.email:  # (a value enrichment normalises)
                report.contacts_unchanged += 1
                continue
            report.contacts_updated += 1
            updates.append(
                {
                    "b_id": cid,
                    "email": email,
                    "properties": merged,
                    "updated_at": now,
                    **link_columns(merged, email),
                }
            )
        if inserts:
            conn.execute(sa.insert(T.contacts), inserts)
        if updates:
            conn.execute(update, updates)
        done += len(batch)
        progress("contacts", done, report.contacts_read)


def _accounts(
    conn: sa.Connection,
    inputs: io.Inputs,
    source: str,
    now: datetime,
    report: ImportReport,
    progress: Progress,
) -> None:
    """Create or merge the file's accounts one by one, as ``PUT /v1/accounts/ID`` does
    (the domain normalised, one account per domain); a refusal names the row."""
    from pydantic import ValidationError

    from . import account_ops
    from .problems import ApiProblem
    from .schemas import AccountIn

    names = ["id", *inputs.account_properties]
    cols = ", ".join(quote(n) for n in names)
    done = 0
    for batch in _fetch(inputs.con, f"SELECT rowid + 1, {cols} FROM accounts"):
        for row in batch:
            props = {k: v for k, v in zip(names[1:], row[2:], strict=True) if v is not None}
            body: dict[str, Any] = {"id": row[1], "properties": props}
            if "domain" in props:
                body["domain"] = props.pop("domain")
            try:
                item = AccountIn.model_validate(body)
                created, lost = account_ops.upsert_account(conn, item, now)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise DataError(
                    str(first["msg"]),
                    source=source,
                    row=row[0],
                    column=str(first["loc"][-1]) if first["loc"] else None,
                    hint="fix the value, or leave the cell empty",
                ) from None
            except ApiProblem as exc:
                raise DataError(
                    exc.detail,
                    source=source,
                    row=row[0],
                    column="domain" if "domain" in exc.detail else None,
                ) from None
            if created:
                report.accounts_created += 1
            else:
                report.accounts_updated += 1
            report.moved_contacts |= lost
            report.account_ids.append(item.id)
        done += len(batch)
        progress("accounts", done, report.accounts_read)


def _create(conn: sa.Connection, ids: list[str], now: datetime) -> None:
    """The contacts of events whose contact was unknown, as ``POST /v1/events`` creates
    them (setting ``unknown_contacts=create``): an id and no property."""
    for start in range(0, len(ids), BATCH):
        conn.execute(
            sa.insert(T.contacts),
            [
                {
                    "id": cid,
                    "email": None,
                    "properties": {},
                    "created_at": now,
                    "updated_at": now,
                    **link_columns({}, None),
                }
                for cid in ids[start : start + BATCH]
            ],
        )


def _events(
    conn: sa.Connection,
    inputs: io.Inputs,
    now: datetime,
    report: ImportReport,
    progress: Progress,
) -> None:
    """Write the file's events set-based (see the module's doc)."""
    dialect = conn.dialect.name
    fmt = TIME_FORMAT[dialect]
    clock = f"TIMESTAMPTZ '{now.isoformat()}'"
    pairs = ", ".join(f"{{'k': {_lit(a)}, 'v': {quote(a)}}}" for a in inputs.attributes)
    attributes = (
        f"to_json(map_from_entries(list_filter([{pairs}], lambda x: x.v IS NOT NULL)))"
        if inputs.attributes
        else "'{}'"
    )
    query = (
        f"SELECT contact_id, type, strftime(least(ts, {clock}), '{fmt}'), event_id, "
        f"CAST({attributes} AS VARCHAR) FROM events"  # in the file's order
    )
    received = now.strftime(fmt)
    columns = "contact_id, type, ts, idempotency_key, attributes, received_at"
    raw = conn.connection.driver_connection if dialect == "postgresql" else None
    if raw is not None:
        with raw.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (n bigserial, contact_id text, "
                "type text, ts timestamptz, idempotency_key text, attributes text, "
                "received_at timestamptz) ON COMMIT DROP"
            )
    done = 0
    for batch in _fetch(inputs.con, query):
        rows = [(*r, received) for r in batch]
        if raw is None:
            result = conn.exec_driver_sql(
                f"INSERT INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                rows,
            )
            report.events_added += result.rowcount
        else:
            with raw.cursor() as cur:
                with cur.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
                # in the file's order (a repeated key: the first one counts)
                cur.execute(
                    f"INSERT INTO events ({columns}) SELECT contact_id, type, ts, "
                    f"idempotency_key, CAST(attributes AS json), received_at FROM {STAGE} "
                    "ORDER BY n ON CONFLICT (idempotency_key) DO NOTHING"
                )
                report.events_added += cur.rowcount
                cur.execute(f"TRUNCATE {STAGE}")
        done += len(batch)
        progress("events", done, report.events_read)


def _rescore(
    conn: sa.Connection,
    svc: Service,
    ids: list[str],
    moved: Sequence[str],
    account_ids: Sequence[str],
    fire: bool,
    progress: Progress,
) -> None:
    """Every contact of the files a page at a time (their accounts with them, under the
    models that score or read accounts); then the contacts an account's new domain
    moved away, and the accounts of the accounts file (the ones no contact rescored)."""
    detail = {"import": True}
    refresh = 2 * PAGE  # statistics refreshed each time the scored contacts double
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        svc._rescore(conn, page, "import", None, fire=fire, detail=detail)
        progress("scoring", start + len(page), len(ids))
        if start + len(page) >= refresh:
            _analyze(conn, scoring=True)
            refresh *= 2
    others = sorted(set(moved) - set(ids))
    for start in range(0, max(len(others), len(account_ids)), PAGE):
        svc._rescore(
            conn,
            others[start : start + PAGE],
            "import",
            None,
            fire=fire,
            detail=detail,
            changed_accounts=account_ids[start : start + PAGE],
        )


def _analyze(conn: sa.Connection, *, scoring: bool = False) -> None:
    """Refresh PostgreSQL's statistics of the tables the import fills (the load's, or
    with ``scoring`` the ones the scoring writes): planned with the figures of the
    tables as they were before (empty, on a first import), a page's reads became
    sequential scans of everything written so far, and the scoring of 100,000 contacts
    slowed fourfold. ANALYZE sees the import's own uncommitted rows."""
    if conn.dialect.name != "postgresql":
        return
    tables = (
        (T.scores, T.trigger_state, T.contact_stages)
        if scoring
        else (T.accounts, T.contacts, T.events)
    )
    conn.execute(sa.text("ANALYZE " + ", ".join(t.name for t in tables)))


class _DryRun(Exception):
    """Raised to roll back a ``check_only`` import once everything was written."""


def import_files(
    svc: Service,
    contacts: str | Path | None = None,
    events: str | Path | None = None,
    *,
    accounts: str | Path | None = None,
    id_column: str | None = None,
    fire_triggers: bool = False,
    repeated_emails: str = "refuse",
    check_only: bool = False,
    actor: str = "cli",
    progress: Progress | None = None,
    inputs: io.Inputs | None = None,
) -> ImportReport:
    """Import the files into the service's store and score their contacts (see the
    module's doc). ``repeated_emails="first"`` keeps an e-mail on the first contact that
    has it (an earlier row, or the stored contact) and leaves it off the others, instead
    of refusing the file. ``check_only`` does all the checks and writes, counts what would
    change, and rolls back (no scoring). ``inputs`` are the files read already (by
    :func:`read_files`)."""
    tell = progress or (lambda step, done, total: None)
    started = time.perf_counter()
    now = utcnow()
    inputs = inputs or read_files(contacts, events, accounts=accounts, id_column=id_column)
    report = ImportReport(
        accounts_read=inputs.n_accounts,
        contacts_read=inputs.n_contacts if contacts is not None else 0,
        events_read=inputs.n_events,
        checked_only=check_only,
    )
    try:
        if repeated_emails not in ("refuse", "first"):
            raise UsageError(f"--repeated-emails {repeated_emails!r}: use 'refuse' or 'first'")
        tell("checking", 0, 1)
        report.emails_left_out = check_files(
            inputs,
            contacts,
            events,
            accounts=accounts,
            now=now,
            max_clock_skew=svc.settings.max_clock_skew,
            repeated_emails=repeated_emails,
        )
        tell("checking", 1, 1)
        with svc.store.write() as conn:
            files = (accounts, contacts, events)
            keep_first = repeated_emails == "first"
            _load(conn, svc, inputs, files, now, report, tell, keep_first=keep_first)
            _analyze(conn)
            loaded = time.perf_counter()
            report.load_seconds = loaded - started
            if check_only:
                raise _DryRun
            pubs = svc.published(conn)
            report.models = sorted(p.name for p in pubs)
            if pubs:
                ids = [
                    r[0]
                    for r in inputs.con.execute(
                        "SELECT id FROM contacts UNION SELECT contact_id FROM events ORDER BY 1"
                    ).fetchall()
                ]
                _rescore(
                    conn, svc, ids, report.moved_contacts, report.account_ids, fire_triggers, tell
                )
                report.scored = len(ids)
            audit(
                conn,
                actor,
                "import",
                None,
                {
                    "files": [Path(p).name for p in (accounts, contacts, events) if p is not None],
                    "accounts": report.accounts_created + report.accounts_updated,
                    "contacts": {
                        "created": report.contacts_created,
                        "updated": report.contacts_updated,
                        "for_events": report.contacts_for_events,
                    },
                    "events": report.events_added,
                    "scored": report.scored,
                },
                at=now,
            )
            report.score_seconds = time.perf_counter() - loaded
    except _DryRun:
        pass
    finally:
        inputs.con.close()
    if not check_only:
        svc.notify_outbox()
    return report


def _load(
    conn: sa.Connection,
    svc: Service,
    inputs: io.Inputs,
    files: tuple[str | Path | None, str | Path | None, str | Path | None],
    now: datetime,
    report: ImportReport,
    tell: Progress,
    *,
    keep_first: bool,
) -> None:
    """Write the files' accounts, contacts and events (nothing scored yet)."""
    accounts, contacts, events = files
    unknown: list[str] = []
    if events is not None:
        refuse = svc.settings.unknown_contacts == "refuse"
        unknown = unknown_contacts(conn, inputs, events, refuse=refuse)
        report.contacts_for_events = len(unknown)
    if accounts is not None:
        _accounts(conn, inputs, str(accounts), now, report, tell)
    if contacts is not None:
        _contacts(conn, svc, inputs, str(contacts), now, report, tell, keep_first=keep_first)
    if events is not None:
        _create(conn, unknown, now)
        _events(conn, inputs, now, report, tell)
