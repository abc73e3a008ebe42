"""Run the compiled query on Spark (local mode by default; ``master`` may be a cluster URL).

Contacts and events are registered as the temporary views ``contacts`` and
``events``: from Parquet files (:func:`register_parquet`) or from DataFrames the
caller already has. The session runs in UTC with ANSI mode on; every literal is
typed explicitly (a bare 0.5 is a DECIMAL in Spark SQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ...errors import UsageError
from ...model.schema import ScoringModel
from .accounts import AccountRun
from .base import Source
from .query import build_query, to_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def session(
    master: str = "local[*]", app_name: str = "leadscore", shuffle_partitions: int = 8
) -> SparkSession:
    """A SparkSession set up for scoring (UTC, ANSI)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover
        raise UsageError("Spark scoring needs pyspark: pip install pyspark==4.3.0") from exc
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_parquet(spark: SparkSession, contacts: str | Path, events: str | Path | None) -> None:
    """Read the files as the ``contacts`` and ``events`` views, every column as text
    except ``ts`` (a timestamp), as :func:`leadscore.data.io.load_inputs` does."""
    from pyspark.sql import functions as F

    c = spark.read.parquet(str(contacts))
    idc = "id" if "id" in c.columns else "contact_id"
    c = c.select(
        F.col(idc).cast("string").alias("id"),
        *[F.col(x).cast("string").alias(x) for x in c.columns if x != idc],
    )
    c.createOrReplaceTempView("contacts")
    if events is None:
        return
    e = spark.read.parquet(str(events))
    key = next((k for k in ("event_id", "id", "idempotency_key") if k in e.columns), None)
    core = ("contact_id", "type", "ts")
    e = e.select(
        F.col("contact_id").cast("string").alias("contact_id"),
        (F.col(key).cast("string") if key else F.lit(None).cast("string")).alias("event_id"),
        F.col("type").cast("string").alias("type"),
        F.col("ts").cast("timestamp").alias("ts"),
        *[
            F.col(x).cast("string").alias(x)
            for x in e.columns
            if x not in core and x != key and x != "attributes"
        ],
    )
    e.createOrReplaceTempView("events")


def source_of(spark: SparkSession, contacts: str = "contacts", events: str = "events") -> Source:
    tables = {t.name for t in spark.catalog.listTables()}
    has_events = events in tables
    return Source(
        contacts_table=contacts,
        events_table=events,
        contact_columns=tuple(spark.table(contacts).columns),
        event_columns=tuple(spark.table(events).columns) if has_events else (),
        has_events=has_events,
    )


def query_sql(
    models: ScoringModel | Sequence[ScoringModel],
    spark: SparkSession,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    pretty: bool = False,
) -> str:
    src = source_of(spark)
    if as_of_column is not None and as_of_column not in src.contact_columns:
        raise UsageError(f"contacts have no column {as_of_column!r}")
    return to_sql(
        build_query(models, "spark", src, as_of=as_of, as_of_column=as_of_column),
        "spark",
        pretty=pretty,
    )


STEP_PREFIX = "__ls_step_"


def prepare_contacts(
    models: ScoringModel | Sequence[ScoringModel],
    spark: SparkSession,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    execute: bool = True,
) -> tuple[str, list[str]]:
    """The contacts query, with the events step (``__m``: de-duplicated events with a
    boolean per filter) and what it reads cached as temporary views, and the views made.

    Spark plans a WITH query again at each place that reads it: the aggregate pass and
    each repetition-limit rule read ``__m``, so the events file would be scanned and
    de-duplicated once per reader. Cached, they are scanned once. A query of several
    models is returned whole (each model has its own steps)."""
    src = source_of(spark)
    query = build_query(models, "spark", src, as_of=as_of, as_of_column=as_of_column)
    with_ = query.args.get("with_")
    names = [] if with_ is None else [cte.alias for cte in with_.expressions]
    if with_ is None or "__m" not in names or not execute:
        return to_sql(query, "spark"), []
    upto = names.index("__m") + 1
    steps = list(with_.expressions[:upto])
    rest = with_.expressions[upto:]
    made: list[str] = []
    views = {cte.alias: f"{STEP_PREFIX}{cte.alias}" for cte in steps}

    def read_views(tree: exp.Expr) -> None:
        for table in tree.find_all(exp.Table):
            if table.name in views and not table.db:
                if not table.alias:  # columns may name the step: keep its name as alias
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
                table.set("this", exp.to_identifier(views[table.name], quoted=True))

    for cte in steps:
        body = cte.this.copy()
        read_views(body)
        name = views[cte.alias]
        drop_views(spark, [name])
        spark.sql(f"CACHE TABLE `{name}` AS {body.sql(dialect='spark')}")
        made.append(name)
    final = query.copy()
    if rest:
        final.set("with_", exp.With(expressions=[c.copy() for c in rest]))
    else:
        final.set("with_", None)
    read_views(final)
    return to_sql(final, "spark"), made


def score_frame(
    models: ScoringModel | Sequence[ScoringModel],
    spark: SparkSession,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
) -> DataFrame:
    """A Spark DataFrame with the scores."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark.sql(query_sql(models, spark, as_of=as_of, as_of_column=as_of_column))


def score_rows(
    models: ScoringModel | Sequence[ScoringModel],
    spark: SparkSession,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
) -> list[dict[str, Any]]:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    sql, made = prepare_contacts(models, spark, as_of=as_of, as_of_column=as_of_column)
    try:
        return [row.asDict() for row in spark.sql(sql).collect()]
    finally:
        drop_views(spark, made)


# ----------------------------------------------------------------------------- accounts


def register_accounts_parquet(spark: SparkSession, accounts: str | Path) -> None:
    """Read the accounts file as the ``accounts`` view, every column as text."""
    from pyspark.sql import functions as F

    a = spark.read.parquet(str(accounts))
    idc = "id" if "id" in a.columns else "account_id"
    a = a.select(
        F.col(idc).cast("string").alias("id"),
        *[F.col(x).cast("string").alias(x) for x in a.columns if x != idc],
    )
    a.createOrReplaceTempView("accounts")


def prepare_accounts(
    models: ScoringModel | Sequence[ScoringModel],
    spark: SparkSession,
    *,
    as_of: datetime | str,
    accounts: str = "accounts",
    execute: bool = True,
) -> AccountRun:
    """The account plan on Spark: each step cached as a temporary view."""
    from pyspark.sql.types import StringType, StructField, StructType

    from .accounts import DOMAINS_TABLE, AccountTables, build_plan, index_from_rows

    src = source_of(spark)
    tables = {t.name for t in spark.catalog.listTables()}
    if accounts not in tables:
        raise UsageError(f"no accounts view {accounts!r}: register the accounts first")
    columns = tuple(spark.table(accounts).columns)
    domain = "CAST(`domain` AS STRING)" if "domain" in columns else "CAST(NULL AS STRING)"
    rows = [
        tuple(r)
        for r in spark.sql(f"SELECT CAST(`id` AS STRING), {domain} FROM `{accounts}`").collect()
    ]
    index = index_from_rows(rows, accounts)
    plan = build_plan(models, "spark", src, AccountTables(accounts, columns), as_of=as_of)
    made: list[str] = []
    if execute:
        schema = StructType(
            [StructField("domain", StringType()), StructField("account_id", StringType())]
        )
        spark.createDataFrame(index.domain_rows(), schema).createOrReplaceTempView(DOMAINS_TABLE)
        made.append(DOMAINS_TABLE)
        for name, query in plan.steps:
            drop_views(spark, [name])
            spark.sql(f"CACHE TABLE `{name}` AS {query.sql(dialect='spark')}")
            made.append(name)
    assert plan.contacts is not None  # build_plan always gives the contacts query
    run = AccountRun(
        plan.contacts.sql(dialect="spark"),
        None if plan.accounts is None else plan.accounts.sql(dialect="spark"),
        index.report,
        made,
    )
    run.statements = [] if execute else plan.statements("spark", pretty=True)
    return run


def drop_views(spark: SparkSession, names: Iterable[str]) -> None:
    """Uncache and drop views, the last made first (a view reads the ones before it)."""
    for name in reversed(list(names)):
        spark.sql(f"UNCACHE TABLE IF EXISTS `{name}`")
        spark.catalog.dropTempView(name)


def score_account_rows(
    models: ScoringModel | Sequence[ScoringModel], spark: SparkSession, *, as_of: datetime | str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    run = prepare_accounts(models, spark, as_of=as_of)
    try:
        out: list[list[dict[str, Any]]] = []
        for sql in (run.contacts_sql, run.accounts_sql):
            out.append([] if sql is None else [r.asDict() for r in spark.sql(sql).collect()])
        return out[0], out[1]
    finally:
        drop_views(spark, run.tables)
