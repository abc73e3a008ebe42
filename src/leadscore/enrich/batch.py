"""Enrich a whole DuckDB table of contacts: :func:`enrich_table`.

The work is done once per *distinct* input value (countries, titles and e-mail
domains repeat a lot; IP addresses are located in one batch call), then joined
back in one SQL statement that applies the same fill-only rules as
:func:`leadscore.enrich.contact.merge`. The result replaces the table, rows in
the same order, with every enrichment property as a plain VARCHAR column
(booleans as ``true`` / ``false``, the text form of :mod:`leadscore.engine.values`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..engine import values as V
from ..errors import UsageError
from .company import company_facts
from .contact import DEFAULT_OPTIONS, EnrichOptions
from .email import DeliverabilityCheck, domain_kind, email_facts
from .geo import country_facts, ip_lookup
from .phone import phone_facts
from .properties import PROPERTY_NAMES
from .titles import title_facts

# Every character Python's str.strip() removes, so "missing" means the same in SQL as in
# leadscore.engine.values.is_missing (text that is empty after trimming).
BLANKS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
EMAIL_OUT = (
    "email_valid",
    "email_normalized",
    "email_domain",
    "email_type",
    "email_deliverable",
    "company",
    "company_domain",
)
PHONE_OUT = ("phone_valid", "phone_type", "phone_country", "phone_e164", "phone_international")
TITLE_OUT = ("seniority", "function")
CHUNK = 2000  # distinct values handled between two progress updates


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _present(alias: str, col: str) -> str:
    """SQL: the column's value when not missing (blank after trimming), else NULL."""
    ref = f"{alias}.{q(col)}" if alias else q(col)
    return f"CASE WHEN trim({ref}, {_lit(BLANKS)}) <> '' THEN {ref} END"


@dataclass
class EnrichReport:
    """What :func:`enrich_table` did."""

    rows: int
    columns_added: list[str]
    inputs: dict[str, str | None]  # input -> the column read (None: absent)
    distinct: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _columns(con, table: str) -> list[str]:
    try:
        return [r[0] for r in con.execute(f"DESCRIBE {q(table)}").fetchall()]
    except Exception as exc:
        raise UsageError(f"no table {table!r} to enrich: {exc}".splitlines()[0]) from None


def _pick(columns: list[str], names: tuple[str, ...]) -> list[str]:
    by_lower = {c.lower(): c for c in columns}
    out: list[str] = []
    for n in names:
        c = by_lower.get(n.lower())
        if c is not None and c not in out:
            out.append(c)
    return out


def _coalesce(cols: list[str]) -> str:
    if not cols:
        return "CAST(NULL AS VARCHAR)"
    if len(cols) == 1:
        return _present("", cols[0])
    return "COALESCE(" + ", ".join(_present("", c) for c in cols) + ")"


class _Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def run(self, label: str, items: list, fn: Callable[[Any], Any]) -> list:
        task = self._bar.add_task(label, total=len(items)) if self._bar else None
        out = []
        for start in range(0, len(items), CHUNK):
            out.extend(fn(x) for x in items[start : start + CHUNK])
            if task is not None:
                self._bar.advance(task, min(CHUNK, len(items) - start))
        if task is not None and not items:
            self._bar.update(task, total=1, completed=1)
        return out

    def step(self, label: str) -> Callable[[], None]:
        if not self._bar:
            return lambda: None
        task = self._bar.add_task(label, total=1)
        return lambda: self._bar.update(task, completed=1)


def _text(value: Any) -> str | None:
    """The text form of an enrichment value (text, or a boolean as true / false)."""
    if value is None or isinstance(value, str):
        return value
    return V.text(value)


def _register(
    con, name: str, keys: dict[str, list], rows: list[dict[str, Any]], outputs: Iterable[str]
) -> None:
    """A temp table of one row per distinct input: its key(s) and the text of each output.

    Lists go in as DuckDB list parameters (zipped by ``unnest``): no Arrow or pandas
    conversion on the way."""
    columns = dict(keys)
    for o in outputs:
        columns[o] = [_text(r.get(o)) for r in rows]  # already text: no second pass
    select = ", ".join(f"unnest(?::VARCHAR[]) AS {q(c)}" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}", list(columns.values()))


def enrich_table(
    con,
    table: str = "contacts",
    *,
    options: EnrichOptions = DEFAULT_OPTIONS,
    progress: bool = False,
    deliverability: DeliverabilityCheck | None = None,
) -> EnrichReport:
    """Add the enrichment columns to ``table`` (replaced in place, same row order).

    Existing values are kept (fill-only), except ``country``, replaced by its ISO
    code when recognised (the original kept in ``country_raw``). Returns what was
    read and added; ``report.columns_added`` lists the new columns.
    """
    started = time.perf_counter()
    columns = _columns(con, table)
    src = {
        "country": _pick(columns, options.country),
        "phone": _pick(columns, options.phone),
        "ip": _pick(columns, options.ip),
        "email": _pick(columns, options.email),
        "job_title": _pick(columns, options.job_title),
    }
    temp = con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = ?", [table]
    ).fetchone()
    if temp is None:
        raise UsageError(f"{table!r} is not a table; enrichment replaces a table in place")
    if options.check_deliverability and deliverability is None:
        deliverability = DeliverabilityCheck(timeout=options.dns_timeout)
    dcheck = deliverability if options.check_deliverability else None

    inputs_sql = ", ".join(f"{_coalesce(cols)} AS __in_{k}" for k, cols in src.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __enrich_in AS SELECT *, row_number() OVER () AS __ord, "
        f"{inputs_sql} FROM {q(table)}"
    )
    distinct: dict[str, int] = {}

    def keys(expr: str) -> list:
        return [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {expr} FROM __enrich_in WHERE {expr} IS NOT NULL"
            ).fetchall()
        ]

    with _Progress(progress) as bar:
        countries = keys("__in_country")
        distinct["country"] = len(countries)
        facts = bar.run("countries", countries, country_facts)
        _register(
            con,
            "__enrich_country",
            {"k": countries},
            facts,
            ("country", "country_raw", "country_valid"),
        )

        pairs = con.execute(
            "SELECT DISTINCT i.__in_phone, c.country FROM __enrich_in i "
            "LEFT JOIN __enrich_country c ON c.k = i.__in_country "
            "WHERE i.__in_phone IS NOT NULL"
        ).fetchall()
        distinct["phone"] = len(pairs)
        facts = bar.run("phones", pairs, lambda p: phone_facts(p[0], p[1]))
        _register(
            con,
            "__enrich_phone",
            {"k": [p[0] for p in pairs], "region": [p[1] for p in pairs]},
            facts,
            PHONE_OUT,
        )

        ips = keys("__in_ip")
        distinct["ip"] = len(ips)
        done = bar.step("IP addresses")
        texts = [str(i).strip() for i in ips]
        ip_rows = [{"ip_valid": ok, "ip_country": code} for ok, code in ip_lookup(texts)]
        _register(con, "__enrich_ip", {"k": ips}, ip_rows, ("ip_valid", "ip_country"))
        done()

        emails = keys("__in_email")
        distinct["email"] = len(emails)

        def one_email(value: str) -> dict[str, Any]:
            out = email_facts(value, dcheck)
            domain = out.get("email_domain")
            if domain and domain_kind(domain) == "business":
                out.update(company_facts(domain))
            return out

        facts = bar.run("e-mail addresses", emails, one_email)
        _register(con, "__enrich_email", {"k": emails}, facts, EMAIL_OUT)

        titles = keys("__in_job_title")
        distinct["job_title"] = len(titles)
        facts = bar.run("job titles", titles, title_facts)
        _register(con, "__enrich_title", {"k": titles}, facts, TITLE_OUT)

        done = bar.step("writing")
        added = _rewrite(con, table, columns, options, dcheck is not None)
        done()
    for name in ("country", "phone", "ip", "email", "title", "in"):
        con.execute(f"DROP TABLE IF EXISTS __enrich_{name}")
    rows = con.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]
    return EnrichReport(
        rows=rows,
        columns_added=added,
        inputs={k: (v[0] if v else None) for k, v in src.items()},
        distinct=distinct,
        seconds=time.perf_counter() - started,
    )


def _rewrite(
    con, table: str, columns: list[str], options: EnrichOptions, deliverable: bool
) -> list[str]:
    fill = "true" if options.fill_country else "false"
    derived = {
        "country_raw": "cm.country_raw",
        "country_valid": "cm.country_valid",
        "country_source": (
            "CASE WHEN i.__in_country IS NOT NULL THEN 'contact' "
            f"WHEN {fill} AND pm.phone_country IS NOT NULL THEN 'phone' "
            f"WHEN {fill} AND im.ip_country IS NOT NULL THEN 'ip' END"
        ),
        "country": (
            "CASE WHEN i.__in_country IS NOT NULL THEN cm.country "
            f"WHEN {fill} THEN COALESCE(pm.phone_country, im.ip_country) END"
        ),
        **{o: f"pm.{o}" for o in PHONE_OUT},
        "ip_valid": "im.ip_valid",
        "ip_country": "im.ip_country",
        **{o: f"em.{o}" for o in EMAIL_OUT if o != "email_deliverable" or deliverable},
        **{o: f"tm.{o}" for o in TITLE_OUT},
    }
    by_lower = {c.lower(): c for c in columns}
    select: list[str] = []
    for col in columns:
        name = col.lower()
        if name == "country" and "country" in derived:
            select.append(
                f"CASE WHEN i.__in_country IS NOT NULL AND cm.country IS NOT NULL "
                f"THEN cm.country ELSE COALESCE({_present('i', col)}, {derived['country']}) END "
                f"AS {q(col)}"
            )
        elif name in derived:
            select.append(f"COALESCE({_present('i', col)}, {derived[name]}) AS {q(col)}")
        else:
            select.append(f"i.{q(col)}")
    added = [p for p in PROPERTY_NAMES if p in derived and p not in by_lower]
    select += [f"{derived[p]} AS {q(p)}" for p in added]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __enrich_out AS SELECT {', '.join(select)} "
        "FROM __enrich_in i "
        "LEFT JOIN __enrich_country cm ON cm.k = i.__in_country "
        "LEFT JOIN __enrich_phone pm ON pm.k = i.__in_phone "
        "AND pm.region IS NOT DISTINCT FROM cm.country "
        "LEFT JOIN __enrich_ip im ON im.k = i.__in_ip "
        "LEFT JOIN __enrich_email em ON em.k = i.__in_email "
        "LEFT JOIN __enrich_title tm ON tm.k = i.__in_job_title "
        "ORDER BY i.__ord"
    )
    temporary = con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = ?", [table]
    ).fetchone()[0]
    kind = "TEMP TABLE" if temporary else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {q(table)} AS SELECT * FROM __enrich_out")
    con.execute("DROP TABLE __enrich_out")
    return added
