"""Load the same contacts and events into every engine, score, and compare with the
in-process reference."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from leadscore.engine import score_contact
from leadscore.engine import values as V
from leadscore.engine.sql import output_columns, score_sql


def duck(contacts: list[dict], events: list[dict], props: list[str], attrs: list[str]):
    """A DuckDB connection with ``contacts`` and ``events`` as data/io.load_inputs makes them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cnames = ["id", *props]
    ctable = pa.table({k: pa.array([c.get(k) for c in contacts], pa.string()) for k in cnames})
    enames = ["contact_id", "event_id", "type", "ts", *attrs]
    etable = pa.table(
        {
            k: pa.array(
                [e.get(k) for e in events],
                pa.timestamp("us", tz="UTC") if k == "ts" else pa.string(),
            )
            for k in enames
        }
    )
    con.register("__contacts", ctable)
    con.register("__events", etable)
    con.execute("CREATE TABLE contacts AS SELECT * FROM __contacts")
    con.execute("CREATE TABLE events AS SELECT * FROM __events")
    con.unregister("__contacts")
    con.unregister("__events")
    return con


def postgres(url: str, contacts, events, props, attrs) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS contacts; DROP TABLE IF EXISTS events")
        conn.execute(
            "CREATE TABLE contacts (" + ", ".join(f'"{p}" text' for p in ["id", *props]) + ")"
        )
        conn.execute(
            "CREATE TABLE events (contact_id text, event_id text, type text, ts timestamptz"
            + "".join(f', "{a}" text' for a in attrs)
            + ")"
        )
        names = ["contact_id", "event_id", "type", "ts", *attrs]
        with conn.cursor() as cur:
            with cur.copy("COPY contacts FROM STDIN") as cp:
                for c in contacts:
                    cp.write_row([c.get(k) for k in ["id", *props]])
            with cur.copy("COPY events FROM STDIN") as cp:
                for e in events:
                    cp.write_row([e.get(k) for k in names])


def spark_views(spark, contacts, events, props, attrs) -> None:
    from pyspark.sql.types import StringType, StructField, StructType, TimestampType

    cschema = StructType([StructField(p, StringType()) for p in ["id", *props]])
    spark.createDataFrame(
        [[c.get(k) for k in ["id", *props]] for c in contacts], cschema
    ).createOrReplaceTempView("contacts")
    names = ["contact_id", "event_id", "type", "ts", *attrs]
    eschema = StructType(
        [StructField(n, TimestampType() if n == "ts" else StringType()) for n in names]
    )
    spark.createDataFrame(
        [[e.get(k) for k in names] for e in events], eschema
    ).createOrReplaceTempView("events")


def reference(models, contacts, events, *, as_of, as_of_column=None) -> list[dict[str, Any]]:
    """What the in-process evaluator gives, fed as data/io.Inputs.contact_rows() feeds it."""
    by_contact: dict[str, list[dict]] = {}
    for e in sorted(events, key=lambda e: V.timestamp(e["ts"])):
        ev = {k: v for k, v in e.items() if v is not None and k != "contact_id"}
        by_contact.setdefault(e["contact_id"], []).append(ev)
    rows = []
    for c in sorted(contacts, key=lambda c: c["id"]):
        when = as_of
        if as_of_column and not V.is_missing(c.get(as_of_column)):
            when = V.timestamp(c[as_of_column])
        for m in models:
            rows.append(score_contact(m, c, by_contact.get(c["id"], []), as_of=when).row())
    return rows


def normalise(rows: list[dict], models) -> list[dict]:
    cols = output_columns(models)
    out = []
    for r in rows:
        out.append({k: r.get(k) for k in cols})
    return sorted(out, key=lambda r: (r["contact_id"], r["model"]))


def assert_same(expected: list[dict], got: list[dict], models, engine: str) -> None:
    exp_rows, got_rows = normalise(expected, models), normalise(got, models)
    assert len(exp_rows) == len(got_rows), f"{engine}: {len(got_rows)} rows, want {len(exp_rows)}"
    for e, g in zip(exp_rows, got_rows, strict=True):
        for key, want in e.items():
            have = g[key]
            if isinstance(want, float) or isinstance(have, float):
                ok = (
                    want is not None
                    and have is not None
                    and math.isclose(float(want), float(have), rel_tol=1e-9, abs_tol=1e-9)
                )
                ok = ok or (want is None and have is None)
            else:
                ok = want == have
            assert ok, f"{engine}: contact {e['contact_id']!r} {key}: {have!r}, want {want!r}"


def run_all(
    models,
    contacts,
    events,
    props,
    attrs,
    *,
    as_of: datetime,
    as_of_column=None,
    pg_url: str | None = None,
    spark=None,
) -> None:
    """Score on every engine given and compare each with the in-process reference."""
    expected = reference(models, contacts, events, as_of=as_of, as_of_column=as_of_column)
    con = duck(contacts, events, props, attrs)
    got = score_sql(models, con, as_of=as_of, as_of_column=as_of_column)
    assert_same(expected, got, models, "duckdb")
    if pg_url is not None:
        postgres(pg_url, contacts, events, props, attrs)
        got = score_sql(models, pg_url, as_of=as_of, as_of_column=as_of_column, engine="postgres")
        assert_same(expected, got, models, "postgres")
    if spark is not None:
        spark_views(spark, contacts, events, props, attrs)
        got = score_sql(models, spark, as_of=as_of, as_of_column=as_of_column, engine="spark")
        assert_same(expected, got, models, "spark")


# ----------------------------------------------------------------------------- accounts

ACCOUNT_COLUMNS = ["id", "domain", "ind", "size"]


def duck_accounts(con, accounts: list[dict]) -> None:
    table = pa.table(
        {k: pa.array([a.get(k) for a in accounts], pa.string()) for k in ACCOUNT_COLUMNS}
    )
    con.register("__accounts", table)
    con.execute("CREATE TABLE accounts AS SELECT * FROM __accounts")
    con.unregister("__accounts")


def reference_accounts(models, contacts, events, accounts, *, as_of):
    """Contact rows (with account_id) and account rows from the in-process evaluator."""
    from leadscore.engine.accounts import score_population

    by_contact: dict[str, list[dict]] = {}
    for e in sorted(events, key=lambda e: V.timestamp(e["ts"])):
        ev = {k: v for k, v in e.items() if v is not None and k != "contact_id"}
        by_contact.setdefault(e["contact_id"], []).append(ev)
    people = [(c, by_contact.get(c["id"], [])) for c in sorted(contacts, key=lambda c: c["id"])]
    rows, account_rows = [], []
    for m in models:
        pop = score_population(m, people, accounts, as_of=as_of)
        for r in pop.contacts:
            rows.append({**r.row(), "account_id": pop.links[r.contact_id]})
        account_rows += [a.row() for a in pop.accounts]
    return rows, account_rows


def assert_same_accounts(expected: list[dict], got: list[dict], models, engine: str) -> None:
    from leadscore.engine.sql.accounts import account_output_columns

    cols = account_output_columns(models)
    exp_rows = sorted(
        ({k: r.get(k) for k in cols} for r in expected), key=lambda r: (r["account_id"], r["model"])
    )
    got_rows = sorted(
        ({k: r.get(k) for k in cols} for r in got), key=lambda r: (r["account_id"], r["model"])
    )
    assert len(exp_rows) == len(got_rows), (
        f"{engine}: {len(got_rows)} accounts, want {len(exp_rows)}"
    )
    for e, g in zip(exp_rows, got_rows, strict=True):
        for key, want in e.items():
            have = g[key]
            if isinstance(want, float) or isinstance(have, float):
                ok = (want is None and have is None) or (
                    want is not None
                    and have is not None
                    and math.isclose(float(want), float(have), rel_tol=1e-9, abs_tol=1e-9)
                )
            else:
                ok = want == have
            assert ok, f"{engine}: account {e['account_id']!r} {key}: {have!r}, want {want!r}"


def run_all_accounts(
    models, contacts, events, accounts, props, attrs, *, as_of, pg_url=None, spark=None
) -> None:
    """Score contacts and accounts on every engine given; compare with the reference."""
    from leadscore.engine.sql import score_accounts_sql
    from leadscore.engine.sql.accounts import contact_output_columns

    want_contacts, want_accounts = reference_accounts(
        models, contacts, events, accounts, as_of=as_of
    )
    cols = contact_output_columns(models)

    def check(got_contacts, got_accounts, engine):
        norm = lambda rows: sorted(  # noqa: E731
            ({k: r.get(k) for k in cols} for r in rows), key=lambda r: (r["contact_id"], r["model"])
        )
        e_rows, g_rows = norm(want_contacts), norm(got_contacts)
        assert len(e_rows) == len(g_rows), (
            f"{engine}: {len(g_rows)} contact rows, want {len(e_rows)}"
        )
        for e, g in zip(e_rows, g_rows, strict=True):
            assert g["account_id"] == e["account_id"], (
                f"{engine}: contact {e['contact_id']!r} account {g['account_id']!r}, "
                f"want {e['account_id']!r}"
            )
        assert_same(want_contacts, got_contacts, models, engine)
        assert_same_accounts(want_accounts, got_accounts, models, engine)

    con = duck(contacts, events, props, attrs)
    duck_accounts(con, accounts)
    check(*score_accounts_sql(models, con, as_of=as_of), "duckdb")
    if pg_url is not None:
        postgres(pg_url, contacts, events, props, attrs)
        postgres_accounts(pg_url, accounts)
        check(*score_accounts_sql(models, pg_url, as_of=as_of, engine="postgres"), "postgres")
    if spark is not None:
        spark_views(spark, contacts, events, props, attrs)
        spark_accounts(spark, accounts)
        check(*score_accounts_sql(models, spark, as_of=as_of, engine="spark"), "spark")


def postgres_accounts(url: str, accounts: list[dict]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS accounts")
        conn.execute(
            "CREATE TABLE accounts (" + ", ".join(f'"{c}" text' for c in ACCOUNT_COLUMNS) + ")"
        )
        with conn.cursor() as cur, cur.copy("COPY accounts FROM STDIN") as cp:
            for a in accounts:
                cp.write_row([a.get(k) for k in ACCOUNT_COLUMNS])


def spark_accounts(spark, accounts: list[dict]) -> None:
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(c, StringType()) for c in ACCOUNT_COLUMNS])
    spark.createDataFrame(
        [[a.get(k) for k in ACCOUNT_COLUMNS] for a in accounts], schema
    ).createOrReplaceTempView("accounts")
