"""The row-level checks of ``leadscore import`` (:mod:`.importing`): what the store
cannot take is refused before anything is written, each problem a
:class:`~leadscore.errors.DataError` naming the file, the row (counted from 1 in the
file's order: ``rowid + 1`` of the DuckDB tables :func:`leadscore.data.io.load_inputs`
fills), the column, what is wrong and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..data import io
from ..errors import DataError
from ..store import tables as T
from .schemas import MAX_TIME, MIN_TIME

PAGE = 500  # ids per store look-up (bind parameters)
SHOWN = 5  # rows named in an error
MAX_ID, MAX_TYPE, MAX_KEY, MAX_EMAIL = 200, 100, 200, 320  # the store's and API's limits
EMAIL = "email"


def quote(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


class _Checker:
    """Row-level checks of one DuckDB table; each failure names the first rows."""

    def __init__(
        self, inputs: io.Inputs, table: str, source: str, found: list[DataError] | None = None
    ):
        self.con, self.table, self.source = inputs.con, table, source
        self.found = found

    def fail(self, error: DataError) -> None:
        """Raise the error, or keep it when the checks collect every problem."""
        if self.found is None:
            raise error
        self.found.append(error)

    def refuse(
        self,
        where: str,
        value: str,
        *,
        column: str,
        what: Callable[[Any], str],
        hint: str,
    ) -> None:
        """Raise for the rows ``where`` holds on: ``what(first value)``, the rows named."""
        found = self.con.execute(
            f"SELECT rowid + 1, {value} FROM {self.table} WHERE {where} "
            f"ORDER BY rowid LIMIT {SHOWN}"
        ).fetchall()
        if not found:
            return
        total = self.con.execute(f"SELECT count(*) FROM {self.table} WHERE {where}").fetchone()
        n = total[0] if total else len(found)
        message = what(found[0][1])
        if n > 1:
            rows = ", ".join(f"{r:,}" for r, _ in found) + (", …" if n > len(found) else "")
            message += f" ({n:,} rows like it: {rows})"
        self.fail(DataError(message, source=self.source, row=found[0][0], column=column, hint=hint))

    def no_nul(self, columns: Sequence[str]) -> None:
        """PostgreSQL keeps no NUL character in text: refuse it before writing."""
        if not columns:
            return
        where = " OR ".join(f"contains({quote(c)}, chr(0))" for c in columns)
        found = self.con.execute(
            f"SELECT rowid + 1, {', '.join(quote(c) for c in columns)} FROM {self.table} "
            f"WHERE {where} ORDER BY rowid LIMIT 1"
        ).fetchone()
        if found is None:
            return
        column = next(c for c, v in zip(columns, found[1:], strict=True) if v and "\x00" in v)
        self.fail(
            DataError(
                "the value contains the NUL character (\\u0000), which the store cannot keep",
                source=self.source,
                row=found[0],
                column=column,
                hint="remove the character from the file (it is often the sign of a binary or "
                "wrongly encoded export)",
            )
        )


ID_HINT = "an id has 1 to 200 characters, with no space and no '/' (the API's URLs carry it)"
BAD_ID = f"length({{c}}) > {MAX_ID} OR regexp_matches({{c}}, '[\\s/]')"


def check_files(
    inputs: io.Inputs,
    contacts: str | Path | None,
    events: str | Path | None,
    *,
    accounts: str | Path | None = None,
    now: datetime,
    max_clock_skew: float,
    repeated_emails: str = "refuse",
    problems: list[DataError] | None = None,
) -> int:
    """Refuse what the store cannot take, naming file, row, column and fix (the checks
    that need only the files; :func:`import_files` checks the store too). With
    ``repeated_emails="first"`` an e-mail on several contacts stays on the first one and
    is taken off the others (in the ``contacts`` table); returns how many. Given a
    ``problems`` list, every check runs and each problem found is added to it instead of
    the first being raised (the web app's preview lists them all)."""
    left_out = 0
    if accounts is not None:
        a = _Checker(inputs, "accounts", str(accounts), problems)
        a.refuse(
            BAD_ID.format(c="id"),
            "id",
            column="id",
            what=lambda v: f"the account id {v!r} is not one the service takes",
            hint=ID_HINT,
        )
        if "domain" in inputs.account_properties:
            a.refuse(
                "length(domain) > 253",
                "domain",
                column="domain",
                what=lambda v: f"the domain {v[:40]!r}… is longer than 253 characters",
                hint="write the account's web domain, e.g. acme.com, or leave the cell empty",
            )
        a.no_nul(["id", *inputs.account_properties])
    if contacts is not None:
        c = _Checker(inputs, "contacts", str(contacts), problems)
        c.refuse(
            BAD_ID.format(c="id"),
            "id",
            column="id",
            what=lambda v: f"the contact id {v!r} is not one the service takes",
            hint=ID_HINT,
        )
        if EMAIL in inputs.properties:
            email = f"lower(trim({quote(EMAIL)}))"
            c.refuse(
                f"length({email}) > {MAX_EMAIL}",
                email,
                column=EMAIL,
                what=lambda v: f"the e-mail {v[:40]!r}… is longer than {MAX_EMAIL} characters",
                hint="an e-mail address has at most 320 characters: fix the value or leave "
                "the cell empty",
            )
            if repeated_emails == "first":
                left_out = _leave_out_repeated(inputs, email)
            dup = inputs.con.execute(
                f"SELECT {email} AS e, list(rowid + 1 ORDER BY rowid) FROM contacts "
                f"WHERE nullif({email}, '') IS NOT NULL GROUP BY e HAVING count(*) > 1 "
                "ORDER BY min(rowid) LIMIT 1"
            ).fetchone()
            if dup is not None:
                rows = ", ".join(f"{r:,}" for r in dup[1][:SHOWN])
                c.fail(
                    DataError(
                        f"the e-mail {dup[0]!r} is on more than one contact (rows {rows})",
                        source=str(contacts),
                        row=dup[1][1],
                        column=EMAIL,
                        hint="an e-mail belongs to one contact: merge the rows, leave the "
                        "address out of all but one, or keep it on the first row only "
                        "(--repeated-emails first)",
                    )
                )
        c.no_nul(["id", *inputs.properties])
    if events is None:
        return left_out
    e = _Checker(inputs, "events", str(events), problems)
    e.refuse(
        "contact_id IS NULL OR trim(contact_id) = ''",
        "contact_id",
        column="contact_id",
        what=lambda v: "the event has no contact id",
        hint="every event needs the id of its contact, one in the contacts file or already "
        "in the store",
    )
    e.refuse(
        BAD_ID.format(c="contact_id"),
        "contact_id",
        column="contact_id",
        what=lambda v: f"the contact id {v!r} is not one the service takes",
        hint=ID_HINT,
    )
    e.refuse(
        f"length(type) > {MAX_TYPE}",
        "type",
        column="type",
        what=lambda v: f"the event type {v[:40]!r}… is longer than {MAX_TYPE} characters",
        hint="an event type is a short name such as page_view",
    )
    e.refuse(
        f"length(event_id) > {MAX_KEY} OR trim(event_id) = ''",
        "event_id",
        column="event_id",
        what=lambda v: f"the event id {v[:40]!r} is blank or longer than {MAX_KEY} characters",
        hint="the event id is the idempotency key: 1 to 200 characters, or leave the cell "
        "empty for none",
    )
    lo, hi = MIN_TIME.strftime("%Y-%m-%d"), MAX_TIME.strftime("%Y-%m-%d")
    e.refuse(
        f"ts < TIMESTAMPTZ '{lo}' OR ts >= TIMESTAMPTZ '{hi}'",
        "CAST(ts AS VARCHAR)",
        column="ts",
        what=lambda v: f"the time {v} is outside the times the service keeps",
        hint=f"give a time from {lo} up to {hi} (UTC)",
    )
    limit = now + timedelta(seconds=max_clock_skew)
    e.refuse(
        f"ts > TIMESTAMPTZ '{limit.isoformat()}'",
        "CAST(ts AS VARCHAR)",
        column="ts",
        what=lambda v: (
            f"the time {v} lies in the future (the import runs at "
            f"{now.isoformat(timespec='seconds')}; at most {max_clock_skew:g} s ahead is taken "
            "as clock skew, setting max_clock_skew)"
        ),
        hint="give the time the event happened, in UTC or with its offset (a time in "
        "milliseconds read as seconds, or a wrong year, looks like this)",
    )
    e.no_nul(["contact_id", "event_id", "type", *inputs.attributes])
    _no_attributes_column(inputs, Path(events), e)
    return left_out


def _no_attributes_column(inputs: io.Inputs, path: Path, checker: _Checker) -> None:
    """An ``attributes`` column (an API-shaped export) is not read as attributes: refuse
    it rather than store its events without them."""
    source = io.source_sql(path)
    columns = [d[0] for d in inputs.con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    if "attributes" not in columns:
        return
    found = inputs.con.execute(
        f"SELECT n FROM (SELECT row_number() OVER () AS n, attributes FROM {source}) "
        "WHERE attributes IS NOT NULL ORDER BY n LIMIT 1"
    ).fetchone()
    if found is not None:
        checker.fail(
            DataError(
                "the events' attributes are read from a column each, not from one "
                "'attributes' column: these would be lost",
                source=str(path),
                row=found[0],
                column="attributes",
                hint="give each attribute a column of its own (url, form_id, …), as "
                "`leadscore score` reads them",
            )
        )


def _leave_out_repeated(inputs: io.Inputs, email: str) -> int:
    """Take an e-mail off every contact but the first (file order) that has it."""
    repeated = (
        f"SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY {email} "
        f"ORDER BY rowid) AS k FROM contacts WHERE nullif({email}, '') IS NOT NULL) "
        "WHERE k > 1"
    )
    found = inputs.con.execute(f"SELECT count(*) FROM ({repeated})").fetchone()
    n = int(found[0]) if found else 0
    if n:
        inputs.con.execute(f"UPDATE contacts SET {quote(EMAIL)} = NULL WHERE rowid IN ({repeated})")
    return n


def unknown_contacts(
    conn: sa.Connection, inputs: io.Inputs, events: str | Path, *, refuse: bool
) -> list[str]:
    """The contact ids of events that are neither in the contacts file nor in the store;
    with ``refuse`` (setting ``unknown_contacts=refuse``), an error naming them."""
    con = inputs.con
    orphans = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT contact_id FROM events e WHERE NOT EXISTS "
            "(SELECT 1 FROM contacts c WHERE c.id = e.contact_id) ORDER BY 1"
        ).fetchall()
    ]
    if not orphans:
        return []
    unknown: list[str] = []
    for start in range(0, len(orphans), PAGE):
        page = orphans[start : start + PAGE]
        known = set(
            conn.execute(sa.select(T.contacts.c.id).where(T.contacts.c.id.in_(page))).scalars()
        )
        unknown += [cid for cid in page if cid not in known]
    if not unknown or not refuse:
        return unknown
    rows = con.execute(
        f"SELECT rowid + 1, contact_id FROM events WHERE list_contains(?, contact_id) "
        f"ORDER BY rowid LIMIT {SHOWN}",
        [unknown[:1000]],
    ).fetchall()
    listed = ", ".join(repr(c) for c in unknown[:SHOWN]) + (", …" if len(unknown) > SHOWN else "")
    raise DataError(
        f"{len(unknown):,} contact id(s) of the events are neither in the contacts file nor "
        f"in the store: {listed} (rows {', '.join(f'{r:,}' for r, _ in rows)}"
        + (", …)" if len(unknown) > len(rows) else ")"),
        source=str(events),
        row=rows[0][0] if rows else None,
        column="contact_id",
        hint="add those contacts to the contacts file (or import them first), correct the "
        "ids, or create them as the service does (--unknown-contacts create)",
    )
