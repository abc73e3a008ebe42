"""Contacts and events from CSV, Parquet or JSON Lines, through DuckDB.

Both evaluators read their input through :func:`load_inputs`, so they see the
same values: every contact property and event attribute as text (a number in a
Parquet file becomes its DuckDB text form), event times as UTC timestamps.

The views created on the connection are the contract with the SQL engines:

* ``contacts``: ``id`` (text, unique, not null) and one text column per property;
* ``events``: ``contact_id``, ``event_id`` (nullable), ``type``, ``ts``
  (TIMESTAMPTZ, UTC) and one text column per attribute;
* ``accounts`` (when an accounts file is given): ``id`` (text, unique, not null)
  and one text column per property (``domain``, ``industry``, ...). Contacts link
  to them by their ``account_id`` and ``email`` columns
  (:mod:`leadscore.engine.linking`).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ..errors import DataError, UsageError

READERS = {
    ".csv": "read_csv",
    ".tsv": "read_csv",
    ".txt": "read_csv",
    ".parquet": "read_parquet",
    ".pq": "read_parquet",
    ".jsonl": "read_json",
    ".ndjson": "read_json",
    ".json": "read_json",
}
ID_COLUMNS = ("id", "contact_id")
ACCOUNT_ID_COLUMNS = ("id", "account_id")
EVENT_KEY_COLUMNS = ("event_id", "id", "idempotency_key")
EVENT_CORE = ("contact_id", "type", "ts")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


MEMORY_CAP = 768 * 2**20
"""The default DuckDB memory limit at most: with Python and the result buffers on top,
a batch run stays within 1 GiB of resident memory (DuckDB spills beyond its limit)."""
MEMORY_FLOOR = 128 * 2**20
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)
UNLIMITED = ("unlimited", "none", "off")


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's if lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 4 * 2**30
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def default_memory_limit() -> int:
    """A quarter of :func:`machine_memory`, between 128 MiB and :data:`MEMORY_CAP`."""
    return max(MEMORY_FLOOR, min(machine_memory() // 4, MEMORY_CAP))


def parse_memory_limit(text: str) -> int | None:
    """``1GB``, ``512MiB``, ``2000000`` (bytes) → bytes; ``unlimited`` → None (DuckDB's
    own default, 80% of the machine). Refuses anything else, and limits under 16 MiB."""
    if text.strip().lower() in UNLIMITED:
        return None
    m = _SIZE.fullmatch(text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise UsageError(
            f"cannot read the memory limit {text!r}: give a size such as 512MB, 1GB or "
            "2GiB, or 'unlimited'"
        )
    size = int(float(m.group(1)) * _UNITS[unit])
    if size < 16 * 2**20:
        raise UsageError(
            f"the memory limit {text!r} is too small to score anything: give at least 16MB"
        )
    return size


_SPILL_DIRS: list[str] = []


def _spill_directory() -> str:
    """A directory of this process for DuckDB's spill files, removed when it exits
    (DuckDB's own default is ``.tmp`` in the working directory)."""
    if not _SPILL_DIRS:
        path = Path(tempfile.gettempdir()) / f"leadscore-spill-{os.getpid()}"
        _SPILL_DIRS.append(str(path))
        atexit.register(shutil.rmtree, str(path), ignore_errors=True)
    return _SPILL_DIRS[0]


def connect(
    memory_limit: str | None = None, temp_directory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with a bounded memory: ``memory_limit`` (``1GB``,
    ``unlimited``...; default :func:`default_memory_limit`), spilling to
    ``temp_directory`` (default: a directory of this process under the system's
    temporary directory, removed at exit)."""
    size = default_memory_limit() if memory_limit is None else parse_memory_limit(memory_limit)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if size is not None:
        con.execute(f"SET memory_limit = '{size // 1024}KiB'")
    con.execute("SET temp_directory = ?", [temp_directory or _spill_directory()])
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_sql(path: Path) -> str:
    """The DuckDB table function that reads a contacts, events or accounts file (CSV
    as text, Parquet, JSON lines); refuses an unknown type or a missing file."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UsageError(
            f"cannot read {str(path)!r}: unknown file type {suffix or '(none)'!r}; "
            "use .csv, .parquet or .jsonl"
        )
    if not path.exists():
        raise UsageError(f"file {str(path)!r} does not exist")
    literal = "'" + str(path).replace("'", "''") + "'"
    reader = READERS[suffix]
    if reader == "read_csv":
        return f"read_csv({literal}, all_varchar = true, header = true)"
    if reader == "read_json":
        return f"read_json({literal}, format = 'newline_delimited')"
    return f"read_parquet({literal})"


def _one(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The value of a query giving one row of one column (such as a count)."""
    row = con.execute(query).fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    return row[0]


def _columns(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> list[str]:
    try:
        return [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    except duckdb.Error as exc:
        raise DataError(f"cannot read the file: {exc}".splitlines()[0], source=str(path)) from None


@dataclass
class Inputs:
    """Contacts and events loaded as DuckDB views, with what was found on the way."""

    con: duckdb.DuckDBPyConnection
    properties: list[str]
    attributes: list[str]
    n_contacts: int
    n_events: int = 0
    orphan_events: int = 0
    orphan_examples: list[str] = field(default_factory=list)
    has_events: bool = False
    n_accounts: int = 0
    account_properties: list[str] = field(default_factory=list)
    has_accounts: bool = False

    def account_rows(self) -> Iterator[dict[str, Any]]:
        """Each account (ordered by id): ``id`` and its properties, for the in-process
        evaluator (nothing when no accounts were loaded)."""
        if not self.has_accounts:
            return
        names = ["id", *self.account_properties]
        cur = self.con.execute(
            f"SELECT {', '.join(_quote(n) for n in names)} FROM accounts ORDER BY id"
        )
        while batch := cur.fetchmany(50_000):
            for row in batch:
                yield dict(zip(names, row, strict=True))

    def contact_rows(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each contact (ordered by id) with its events, for the in-process evaluator."""
        props = ", ".join(_quote(p) for p in ["id", *self.properties])
        contacts = self.con.execute(f"SELECT {props} FROM contacts ORDER BY id").fetchall()
        names = ["id", *self.properties]
        by_contact: dict[str, list[dict[str, Any]]] = {}
        if self.has_events:
            cols = ["contact_id", "event_id", "type", "ts", *self.attributes]
            # Times travel as epoch microseconds: exact, and no timezone library needed.
            exprs = [_quote(c) if c != "ts" else "epoch_us(ts)" for c in cols]
            cur = self.con.execute(
                "SELECT "
                + ", ".join(exprs)
                + " FROM events WHERE contact_id IN (SELECT id FROM contacts)"
                " ORDER BY contact_id, ts"
            )
            while batch := cur.fetchmany(50_000):
                for row in batch:
                    ev = {c: v for c, v in zip(cols[1:], row[1:], strict=True) if v is not None}
                    ev["ts"] = EPOCH + timedelta(microseconds=ev["ts"])
                    by_contact.setdefault(row[0], []).append(ev)
        for row in contacts:
            contact = dict(zip(names, row, strict=True))
            yield contact, by_contact.pop(contact["id"], [])


def load_inputs(
    contacts: str | Path,
    events: str | Path | None = None,
    *,
    accounts: str | Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    id_column: str | None = None,
    enrich: bool = False,
    progress: bool = False,
    tables: bool = False,
) -> Inputs:
    """Open the files as the ``contacts`` and ``events`` views and check them.

    Raises :class:`DataError` for a missing id column, empty or repeated ids,
    a missing events column, or times that cannot be read (naming the rows).
    Events whose contact is unknown are counted in the result, never dropped
    silently. With ``enrich``, the built-in offline enrichers add their
    properties (``email_type``, ``email_domain``, ``seniority``, …; see
    docs/enrichment.md) before any evaluator reads the contacts, so every
    evaluator sees the same enriched values.

    With ``accounts``, the accounts file becomes the ``accounts`` table (its id
    from an ``id`` or ``account_id`` column; empty and repeated ids refused).

    Parquet contacts and events stay views of their files unless ``tables`` asks for
    copies (tables have a ``rowid``, the file's order, and can be updated).
    """
    con = con or connect()
    cpath = Path(contacts)
    csrc = source_sql(cpath)
    ccols = _columns(con, csrc, cpath)
    if id_column is not None:
        if id_column not in ccols:
            raise DataError(
                f"no column {id_column!r}; the columns are: {', '.join(ccols)}",
                source=str(cpath),
                hint="pass the id column with --id-column",
            )
        idc = id_column
    else:
        found = next((c for c in ID_COLUMNS if c in ccols), None)
        if found is None:
            raise DataError(
                "no contact id column: expected 'id' or 'contact_id'; the columns are: "
                + ", ".join(ccols),
                source=str(cpath),
                hint="rename the column or pass --id-column NAME",
            )
        idc = found
    props = [c for c in ccols if c != idc]
    select = ", ".join(
        [f"CAST({_quote(idc)} AS VARCHAR) AS id"]
        + [f"CAST({_quote(p)} AS VARCHAR) AS {_quote(p)}" for p in props]
    )
    # A Parquet file stays where it is (each query reads the columns it needs); a text
    # file is parsed once, and enrichment replaces a table: those are copied, in the
    # file's order (DuckDB's preserve_insertion_order is on by default).
    parquet = READERS[cpath.suffix.lower()] == "read_parquet"
    drop_relation(con, "contacts")
    con.execute(
        f"CREATE TEMP {'VIEW' if parquet and not (enrich or tables) else 'TABLE'} contacts AS "
        f"SELECT {select} FROM {csrc}"
    )
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE id IS NULL OR trim(id) = ''), "
        "count(DISTINCT id) FROM contacts"
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    n_contacts, bad, distinct = row
    if bad:
        # rows counted from 1 in the file's order
        blank = f"{_quote(idc)} IS NULL OR trim(CAST({_quote(idc)} AS VARCHAR)) = ''"
        first = con.execute(
            f"SELECT __row FROM (SELECT *, row_number() OVER () AS __row FROM {csrc}) "
            f"WHERE {blank} ORDER BY __row LIMIT 5"
        ).fetchall()
        rows = ", ".join(str(r[0]) for r in first) + (", …" if bad > len(first) else "")
        raise DataError(
            f"{bad} contact(s) have an empty id (row(s) {rows})",
            source=str(cpath),
            column=idc,
            hint="every contact needs an id",
        )
    if distinct != n_contacts:
        dup = con.execute(
            "SELECT id, count(*) FROM contacts GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 3"
        ).fetchall()
        listed = ", ".join(f"{i!r} ({n} times)" for i, n in dup)
        raise DataError(
            f"contact ids appear more than once: {listed}",
            source=str(cpath),
            column=idc,
            hint="each contact id must be unique",
        )
    if enrich:
        from ..enrich import enrich_table

        enrich_table(con, "contacts", progress=progress)
        props = [d[0] for d in con.execute("SELECT * FROM contacts LIMIT 0").description][1:]
    inputs = Inputs(con=con, properties=props, attributes=[], n_contacts=n_contacts)
    if accounts is not None:
        load_accounts(con, Path(accounts), inputs)
    if events is None:
        drop_relation(con, "events")
        con.execute(
            "CREATE TEMP TABLE events (contact_id VARCHAR, event_id VARCHAR, "
            "type VARCHAR, ts TIMESTAMPTZ)"
        )
        return inputs
    load_events(con, Path(events), inputs, table=tables)
    return inputs


def check_readable(path: str | Path) -> None:
    """Refuse a file :func:`load_inputs` cannot read (unknown type, missing) before any work."""
    source_sql(Path(path))


def load_accounts(con: duckdb.DuckDBPyConnection, apath: Path, inputs: Inputs) -> None:
    """Open an accounts file as the ``accounts`` table and check it (what
    :func:`load_inputs` does with its ``accounts``), recording it in ``inputs``."""
    asrc = source_sql(apath)
    acols = _columns(con, asrc, apath)
    idc = next((c for c in ACCOUNT_ID_COLUMNS if c in acols), None)
    if idc is None:
        raise DataError(
            "no account id column: expected 'id' or 'account_id'; the columns are: "
            + ", ".join(acols),
            source=str(apath),
            hint="name the accounts' id column 'id' (or 'account_id')",
        )
    props = [c for c in acols if c != idc]
    select = ", ".join(
        [f"CAST({_quote(idc)} AS VARCHAR) AS id"]
        + [f"CAST({_quote(p)} AS VARCHAR) AS {_quote(p)}" for p in props]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE accounts AS SELECT {select}, __row FROM "
        f"(SELECT *, row_number() OVER () AS __row FROM {asrc}) ORDER BY __row"
    )
    empty = con.execute(
        "SELECT __row FROM accounts WHERE id IS NULL OR trim(id) = '' ORDER BY __row"
    ).fetchall()
    if empty:
        rows = ", ".join(str(r[0]) for r in empty[:5]) + (", …" if len(empty) > 5 else "")
        raise DataError(
            f"{len(empty)} account(s) have an empty id (row(s) {rows})",
            source=str(apath),
            column=idc,
            hint="every account needs an id",
        )
    dup = con.execute(
        "SELECT id, count(*) FROM accounts GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 3"
    ).fetchall()
    if dup:
        listed = ", ".join(f"{i!r} ({n} times)" for i, n in dup)
        raise DataError(
            f"account ids appear more than once: {listed}",
            source=str(apath),
            column=idc,
            hint="each account id must be unique",
        )
    con.execute("ALTER TABLE accounts DROP COLUMN __row")
    inputs.n_accounts = _one(con, "SELECT count(*) FROM accounts")
    inputs.account_properties = props
    inputs.has_accounts = True


def load_events(
    con: duckdb.DuckDBPyConnection, epath: Path, inputs: Inputs, *, table: bool = False
) -> None:
    """Open an events file as the ``events`` view (Parquet: read from the file by each
    query, so a query reads only the columns it needs) or temporary table (CSV and JSON,
    parsed once) and check it in one pass (what :func:`load_inputs` does with its
    ``events``), recording its attributes and counts in ``inputs``; the rows at fault
    are looked for only when something is wrong. The ``contacts`` relation must exist
    (orphan events are counted against it). ``table`` copies a Parquet file too."""
    esrc = source_sql(epath)
    ecols = _columns(con, esrc, epath)
    missing = [c for c in EVENT_CORE if c not in ecols]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}; the columns are: {', '.join(ecols)}",
            source=str(epath),
            hint="events need contact_id, type and ts (ISO 8601 time); other columns "
            "are attributes",
        )
    key = next((c for c in EVENT_KEY_COLUMNS if c in ecols), None)
    attrs = [c for c in ecols if c not in EVENT_CORE and c != key and c != "attributes"]
    bad_ts = "ts IS NULL OR TRY_CAST(ts AS TIMESTAMPTZ) IS NULL"
    no_type = "type IS NULL OR trim(CAST(type AS VARCHAR)) = ''"
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {bad_ts}), count(*) FILTER (WHERE {no_type}) "
        f"FROM {esrc}"
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY gives one row
    n_events, n_bad_ts, n_no_type = row
    if n_bad_ts or n_no_type:
        _event_errors(con, esrc, epath, bad_ts, no_type, n_bad_ts)
    select = ", ".join(
        [
            "CAST(contact_id AS VARCHAR) AS contact_id",
            (f"CAST({_quote(key)} AS VARCHAR)" if key else "CAST(NULL AS VARCHAR)")
            + " AS event_id",
            "CAST(type AS VARCHAR) AS type",
            "CAST(ts AS TIMESTAMPTZ) AS ts",
        ]
        + [f"CAST({_quote(a)} AS VARCHAR) AS {_quote(a)}" for a in attrs]
    )
    kind = "VIEW" if READERS[epath.suffix.lower()] == "read_parquet" and not table else "TABLE"
    drop_relation(con, "events")
    con.execute(f"CREATE TEMP {kind} events AS SELECT {select} FROM {esrc}")
    inputs.attributes = attrs
    inputs.has_events = True
    inputs.n_events = n_events
    orphan = "NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = e.contact_id)"
    orphans = _one(con, f"SELECT count(*) FROM events e WHERE {orphan}")
    inputs.orphan_events = orphans
    if orphans:
        inputs.orphan_examples = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT coalesce(contact_id, '(empty)') FROM events e WHERE {orphan} "
                "ORDER BY 1 LIMIT 5"
            ).fetchall()
        ]


def _event_errors(
    con: duckdb.DuckDBPyConnection,
    esrc: str,
    epath: Path,
    bad_ts: str,
    no_type: str,
    n_bad_ts: int,
) -> None:
    """Raise the error for events found wrong, naming the first rows at fault (1-based
    rows of the file, header not counted)."""
    numbered = f"(SELECT *, row_number() OVER () AS __row FROM {esrc})"
    if n_bad_ts:
        bad = con.execute(
            f"SELECT __row, CAST(ts AS VARCHAR) FROM {numbered} WHERE {bad_ts} "
            "ORDER BY __row LIMIT 5"
        ).fetchall()
        shown = "; ".join(f"row {r}: {v!r}" for r, v in bad)
        raise DataError(
            f"{n_bad_ts} event time(s) cannot be read ({shown})",
            source=str(epath),
            column="ts",
            hint="use ISO 8601, e.g. 2026-03-01T14:30:00Z; times without a zone are UTC",
        )
    first = _one(con, f"SELECT min(__row) FROM {numbered} WHERE {no_type}")
    raise DataError(
        "an event has no type",
        source=str(epath),
        row=first,
        column="type",
        hint="every event needs a type, e.g. page_view",
    )


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view ``name`` of the connection, if there is one."""
    found = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    for (kind,) in found:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {_quote(name)}")


WRITERS = {
    ".csv": "CSV",
    ".parquet": "PARQUET",
    ".pq": "PARQUET",
    ".jsonl": "JSON",
    ".ndjson": "JSON",
    ".json": "JSON",
}


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        raise UsageError(
            f"cannot write {str(path)!r}: unknown file type {suffix or '(none)'!r}; "
            "use .csv, .parquet or .jsonl"
        )
    return WRITERS[suffix]


def write_relation(con: duckdb.DuckDBPyConnection, query: str, path: str | Path) -> None:
    """Write the result of ``query`` to ``path`` (CSV, Parquet or JSON Lines), atomically."""
    fmt = output_format(path)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    literal = "'" + str(tmp).replace("'", "''") + "'"
    options = "FORMAT CSV, HEADER true" if fmt == "CSV" else f"FORMAT {fmt}"
    con.execute(f"COPY ({query}) TO {literal} ({options})")
    tmp.replace(target)


def write_rows(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], columns: list[str], path: str | Path
) -> None:
    """Write Python rows through DuckDB (same writers as the SQL path)."""
    import pyarrow as pa

    table = (
        pa.Table.from_pylist(rows, schema=None)
        if rows
        else pa.table({c: pa.array([], pa.string()) for c in columns})
    )
    table = table.select(columns)
    con.register("__rows", table)
    try:
        write_relation(con, "SELECT * FROM __rows", path)
    finally:
        con.unregister("__rows")
