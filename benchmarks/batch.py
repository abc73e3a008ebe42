"""Batch scoring benchmark: the b2b_saas model over generated contacts and events.

Every contender scores the same files (contacts enriched beforehand, as `leadscore
enrich` writes them, so that the model's e-mail rules read real values), each in a
fresh process with its wall time and peak memory (resident set of the process and its
children, sampled every 20 ms), in interleaved rounds:

* ``careful-duckdb``: the model written by hand as one careful DuckDB query (the
  baseline: filters computed before de-duplication, one pass of filtered aggregates,
  groupings instead of windows, DuckDB's default settings);
* ``compiled``: leadscore's compiled query alone (``--show-sql``'s), DuckDB defaults;
* ``command``: the whole ``leadscore score ... --out scores.parquet`` command, as a
  user runs it (start-up, checks, scoring, writing; default memory limit);
* ``command-unlimited``: the same with ``--memory-limit unlimited``;
* ``accounts``: examples/abm.yaml, contacts and their accounts scored together;
* ``polars`` and ``pandas``: the same model, vectorised, in each library;
* ``spark``: leadscore's compiled query on Spark ``local[2]``, with its stage count;

then the command at several data sizes to show how time and memory grow.

    python benchmarks/batch.py                      # 1M contacts / ~20M events, 3 rounds
    python benchmarks/batch.py --contacts 100000 --scales 1 --repeat 1 --skip-spark
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "b2b_saas.yaml"
ACCOUNT_MODEL = ROOT / "examples" / "abm.yaml"
AS_OF = "2026-01-01T00:00:00Z"
AS_OF_US = 1767225600000000
DAY_US = 86_400_000_000


# ----------------------------------------------------------------------------- the contenders


def run_compiled(contacts: str, events: str, out: str, threads: int | None) -> dict:
    """The compiled query over the files read as text (as the command reads them),
    on a plain DuckDB connection with DuckDB's defaults, as the careful query runs."""
    import duckdb

    from leadscore.engine.sql.duckdb import query_sql
    from leadscore.model import load_model

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {threads}")
    _text_views(con, contacts, events)
    sql = query_sql([load_model(MODEL)], con, as_of=AS_OF)
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT PARQUET)")
    return {}


def run_accounts(contacts: str, events: str, out: str, threads: int | None, accounts: str) -> dict:
    """Contacts and accounts of examples/abm.yaml: the account plan's steps as temporary
    tables, then both outputs written, as `leadscore score --accounts` does."""
    from leadscore.data.io import connect
    from leadscore.engine.sql.duckdb import prepare_accounts
    from leadscore.model import load_model

    con = connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    _text_views(con, contacts, events)
    acols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{accounts}'").fetchall()]
    asel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in acols)
    con.execute(f"CREATE VIEW accounts AS SELECT {asel} FROM '{accounts}'")
    run = prepare_accounts([load_model(ACCOUNT_MODEL)], con, as_of=AS_OF)
    con.execute(f"COPY ({run.contacts_sql}) TO '{out}' (FORMAT PARQUET)")
    con.execute(f"COPY ({run.accounts_sql}) TO '{accounts_out(out)}' (FORMAT PARQUET)")
    run.drop(con)
    return {}


def accounts_out(out: str | Path) -> str:
    return str(out).removesuffix(".parquet") + ".accounts.parquet"


def _text_views(con, contacts: str, events: str) -> None:
    """Every property and attribute as text, as leadscore.data.io.load_inputs exposes them."""
    ccols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{contacts}'").fetchall()]
    ecols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{events}'").fetchall()]
    csel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in ccols)
    esel = ", ".join(f'"{c}"' if c == "ts" else f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in ecols)
    con.execute(f"CREATE VIEW contacts AS SELECT {csel} FROM '{contacts}'")
    con.execute(f"CREATE VIEW events AS SELECT {esel} FROM '{events}'")


# The model by hand, from docs/model-reference.md: text tests ignore case, numbers are
# read from text, a blank value is missing, word boundaries are Unicode ones (RE2's \b
# is ASCII-only, hence the letter and digit classes), events after the as-of time and
# repeated event ids do not count.
CAREFUL_SQL = r"""
WITH e AS (
  SELECT contact_id, t, asset_id, pv, pricing, careers, click, demo, dl, webinar, engaged, unsub
  FROM (
    SELECT contact_id, epoch_us(ts) AS t, type, asset_id,
      lower(type) = 'page_view' AS pv,
      lower(type) = 'page_view' AND contains(lower(url), '/pricing') AS pricing,
      lower(type) = 'page_view' AND contains(lower(url), '/careers') AS careers,
      lower(type) = 'email_click' AS click,
      lower(type) = 'form_submit' AND lower(form_id) IN ('demo', 'contact-sales') AS demo,
      lower(type) = 'asset_download' AS dl,
      lower(type) = 'webinar_attended' AS webinar,
      lower(type) IN ('page_view', 'email_click', 'form_submit', 'webinar_attended') AS engaged,
      lower(type) = 'unsubscribe' AS unsub,
      nullif(trim(event_id), '') AS k
    FROM read_parquet('{events}')
    WHERE ts <= TIMESTAMPTZ '{as_of}'
  )
  QUALIFY k IS NULL OR row_number() OVER (PARTITION BY contact_id, k ORDER BY t, type) = 1
),
a AS (
  SELECT contact_id,
    sum(pow(0.5, ({asof_us} - t) / 2592e9)) FILTER (WHERE pv AND t >= {asof_us} - 2592e9) AS pv,
    sum(3 * pow(0.5, ({asof_us} - t) / 2592e9)) FILTER (WHERE click AND t >= {asof_us} - 7776e9)
      AS clicks,
    sum(-10 * pow(0.5, ({asof_us} - t) / 2592e9)) FILTER (WHERE careers) AS careers,
    sum(CASE WHEN {asof_us} - t <= 10368e9 THEN 15 ELSE 0 END) FILTER (WHERE webinar) AS webinar,
    count(*) FILTER (WHERE engaged AND t >= {asof_us} - 2592e9) AS engaged_n,
    max(t) AS last_t,
    bool_or(unsub) AS unsubscribed,
    max(t) FILTER (WHERE demo) AS demo_t
  FROM e GROUP BY contact_id
),
pricing AS (
  SELECT contact_id, sum(5 * pow(0.5, ({asof_us} - t) / 2592e9)) AS pricing FROM (
    SELECT contact_id, max(t) AS t FROM e WHERE pricing
    GROUP BY contact_id, t // 86400000000
  ) GROUP BY contact_id
),
content AS (
  SELECT contact_id, sum(8 * greatest(0, 1 - ({asof_us} - t) / 15552e9)) AS content FROM (
    SELECT contact_id, max(t) AS t FROM e WHERE dl
    GROUP BY contact_id, nullif(trim(asset_id), '')
  ) GROUP BY contact_id
),
s AS (
  SELECT c.id AS contact_id,
    least(
      CASE WHEN lower(c.email_type) = 'business' THEN 10 ELSE 0 END
      + CASE WHEN lower(c.country) IN ('fr', 'be', 'ch', 'ca', 'us', 'gb', 'de') THEN 10 ELSE 0 END
      + CASE WHEN regexp_matches(c.job_title, '(?i)(^|[^\pL\pN_])'
          || '(ceo|cto|cmo|vp|head|director|directeur|founder)([^\pL\pN_]|$)') THEN 15 ELSE 0 END
      + CASE WHEN TRY_CAST(c.employees AS DOUBLE) BETWEEN 50 AND 500 THEN 15
             WHEN TRY_CAST(c.employees AS DOUBLE) BETWEEN 501 AND 5000 THEN 10
             WHEN TRY_CAST(c.employees AS DOUBLE) < 10 THEN -5 ELSE 0 END
      + CASE WHEN lower(c.industry) IN ('software', 'financial services', 'healthcare')
             THEN 5 ELSE 0 END
      + CASE WHEN TRY_CAST(c.budget AS DOUBLE) >= 10000 THEN 5 ELSE 0 END
      + 2 * (coalesce(trim(c.phone) <> '', false)::INT + coalesce(trim(c.company) <> '', false)::INT
           + coalesce(trim(c.job_title) <> '', false)::INT),
      60) AS fit,
    least(
      least(coalesce(pricing, 0), 20)
      + least(coalesce(a.pv, 0), 10)
      + CASE WHEN a.demo_t IS NULL THEN 0
             WHEN a.demo_t >= {asof_us} - 2592e9 THEN 30
             WHEN a.demo_t >= {asof_us} - 7776e9 THEN 15 ELSE 0 END
      + least(coalesce(content, 0), 24)
      + least(coalesce(a.clicks, 0), 15)
      + coalesce(a.webinar, 0)
      + CASE WHEN a.engaged_n >= 5 THEN 10 ELSE 0 END
      + greatest(coalesce(a.careers, 0), -10)
      + CASE WHEN a.last_t < {asof_us} - 7776e9 THEN -20 ELSE 0 END,
      60) AS engagement,
    coalesce(lower(c.email_domain) IN ('rival.example', 'competitor.example'), false)
      OR coalesce(regexp_matches(c.job_title,
           '(?i)(^|[^\pL\pN_])(student|étudiant|intern)([^\pL\pN_]|$)'), false)
      OR coalesce(a.unsubscribed, false) AS excluded
  FROM read_parquet('{contacts}') c
  LEFT JOIN a ON a.contact_id = c.id
  LEFT JOIN pricing p ON p.contact_id = c.id
  LEFT JOIN content ct ON ct.contact_id = c.id
)
SELECT contact_id, 'b2b-saas' AS model, fit, engagement,
  CASE WHEN excluded THEN 0 ELSE least(greatest(fit + engagement, 0), 100) END AS total,
  CASE WHEN fit >= 45 THEN 'A' WHEN fit >= 30 THEN 'B' WHEN fit >= 15 THEN 'C' ELSE 'D' END
    AS grade,
  CASE WHEN excluded THEN NULL
       WHEN least(greatest(fit + engagement, 0), 100) >= 80 AND fit >= 30 THEN 'SQL'
       WHEN least(greatest(fit + engagement, 0), 100) >= 50 THEN 'MQL' ELSE 'lead' END AS stage,
  excluded
FROM s ORDER BY contact_id
"""


def run_careful(contacts: str, events: str, out: str, threads: int | None) -> dict:
    import duckdb

    con = duckdb.connect()  # DuckDB's defaults
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {threads}")
    sql = CAREFUL_SQL.format(as_of=AS_OF, asof_us=AS_OF_US, contacts=contacts, events=events)
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT PARQUET)")
    return {}


def command(contacts: str, events: str, out: str, unlimited: bool = False) -> list[str]:
    """The README's command line."""
    exe = Path(sys.executable).with_name("leadscore")
    cmd = [str(exe), "score", "-m", str(MODEL), "--contacts", contacts, "--events", events]
    cmd += ["--as-of", AS_OF, "--out", out, "--quiet"]
    return cmd + (["--memory-limit", "unlimited"] if unlimited else [])


FIT_TITLE = r"(?i)\b(?:ceo|cto|cmo|vp|head|director|directeur|founder)\b"
STUDENT = r"(?i)\b(?:student|étudiant|intern)\b"
COUNTRIES = ["fr", "be", "ch", "ca", "us", "gb", "de"]
INDUSTRIES = ["software", "financial services", "healthcare"]
RIVALS = ["rival.example", "competitor.example"]
ENGAGED = ["page_view", "email_click", "form_submit", "webinar_attended"]
EVENT_COLUMNS = ["contact_id", "event_id", "type", "ts", "url", "form_id", "asset_id"]
CONTACT_COLUMNS = [
    "id", "email_type", "email_domain", "country", "job_title", "employees", "industry",
    "budget", "phone", "company",
]  # fmt: skip


def run_pandas(contacts: str, events: str, out: str, threads: int | None) -> dict:
    """The model in vectorised pandas (Python's own regular expressions: exact \\b)."""
    import numpy as np
    import pandas as pd

    def frame(path: str, columns: list[str]) -> pd.DataFrame:
        df = pd.read_parquet(path, columns=columns)
        for name in df.columns:  # DuckDB's enums arrive as categories
            if isinstance(df[name].dtype, pd.CategoricalDtype):
                df[name] = df[name].astype(object)
        return df

    e = frame(events, EVENT_COLUMNS)
    e = e.assign(t=e["ts"].dt.as_unit("us").astype("int64").to_numpy())  # µs, whatever unit
    e = e[e["t"] <= AS_OF_US]
    key = e["event_id"].str.strip().replace("", None)
    e = e.assign(k=key, ty=e["type"].str.lower())
    keyed = e[e["k"].notna()].sort_values(["t", "type"], kind="stable")
    keyed = keyed.drop_duplicates(["contact_id", "k"], keep="first")
    e = pd.concat([keyed, e[e["k"].isna()]], ignore_index=True)
    age = (AS_OF_US - e["t"]).to_numpy(dtype="float64")
    half = 0.5 ** (age / 2592e9)
    ty = e["ty"]
    url = e["url"].fillna("").str.lower()
    pv = (ty == "page_view").to_numpy()
    cid = e["contact_id"]

    def per_contact(mask, values) -> pd.Series:
        return pd.Series(values[mask]).groupby(cid.to_numpy()[mask]).sum()

    pv_pts = per_contact(pv & (age <= 2592e9), half)
    clicks = per_contact((ty == "email_click").to_numpy() & (age <= 7776e9), 3 * half)
    careers = per_contact(pv & url.str.contains("/careers", regex=False).to_numpy(), -10 * half)
    webinar = per_contact((ty == "webinar_attended").to_numpy(), np.where(age <= 10368e9, 15.0, 0))
    engaged = per_contact(ty.isin(ENGAGED).to_numpy() & (age <= 2592e9), np.ones(len(e)))
    last_t = e.groupby("contact_id")["t"].max()
    unsub = per_contact((ty == "unsubscribe").to_numpy(), np.ones(len(e))) > 0
    demo_mask = (ty == "form_submit") & e["form_id"].fillna("").str.lower().isin(
        ["demo", "contact-sales"]
    )
    demo_t = e[demo_mask.to_numpy()].groupby("contact_id")["t"].max()
    pr = e[pv & url.str.contains("/pricing", regex=False).to_numpy()]
    pr = (
        pr.groupby([pr["contact_id"], pr["t"] // DAY_US])["t"].max().reset_index(level=1, drop=True)
    )
    pricing = (5 * 0.5 ** ((AS_OF_US - pr) / 2592e9)).groupby(level=0).sum()
    dl = e[(ty == "asset_download").to_numpy()]
    dl = dl.assign(a=dl["asset_id"].str.strip().replace("", None))
    dl_t = dl.groupby(["contact_id", "a"], dropna=False)["t"].max().reset_index(level=1, drop=True)
    content = (8 * np.maximum(0, 1 - (AS_OF_US - dl_t) / 15552e9)).groupby(level=0).sum()

    c = frame(contacts, CONTACT_COLUMNS).set_index("id")
    idx = c.index

    def low(name: str) -> pd.Series:
        return c[name].str.lower()

    def number(name: str) -> pd.Series:
        return pd.to_numeric(c[name].str.strip(), errors="coerce")

    def present(name: str) -> pd.Series:
        return c[name].fillna("").str.strip().ne("")

    title = c["job_title"].fillna("")
    emp = number("employees")
    fit = (
        np.where(low("email_type") == "business", 10, 0)
        + np.where(low("country").isin(COUNTRIES), 10, 0)
        + np.where(title.str.contains(FIT_TITLE, regex=True), 15, 0)
        + np.select([emp.between(50, 500), emp.between(501, 5000), emp < 10], [15, 10, -5], 0)
        + np.where(low("industry").isin(INDUSTRIES), 5, 0)
        + np.where(number("budget") >= 10000, 5, 0)
        + 2 * (present("phone").astype(int) + present("company") + present("job_title"))
    )
    fit = pd.Series(np.minimum(fit, 60), idx).astype(float)

    def at(s: pd.Series) -> np.ndarray:
        return s.reindex(idx, fill_value=0).to_numpy(dtype="float64")

    dt = demo_t.reindex(idx)
    demo = np.select([dt >= AS_OF_US - 2592e9, dt >= AS_OF_US - 7776e9], [30.0, 15.0], 0.0)
    lt = last_t.reindex(idx)
    engagement = np.minimum(
        np.minimum(at(pricing), 20)
        + np.minimum(at(pv_pts), 10)
        + demo
        + np.minimum(at(content), 24)
        + np.minimum(at(clicks), 15)
        + at(webinar)
        + np.where(at(engaged) >= 5, 10, 0)
        + np.maximum(at(careers), -10)
        + np.where(lt < AS_OF_US - 7776e9, -20, 0),
        60,
    )
    excluded = (
        low("email_domain").isin(RIVALS).to_numpy()
        | title.str.contains(STUDENT, regex=True).to_numpy()
        | unsub.reindex(idx, fill_value=False).to_numpy(dtype=bool)
    )
    f = fit.to_numpy()
    total = np.where(excluded, 0.0, np.clip(f + engagement, 0, 100))
    grade = np.select([f >= 45, f >= 30, f >= 15], ["A", "B", "C"], "D")
    stage = np.select([(total >= 80) & (f >= 30), total >= 50], ["SQL", "MQL"], "lead")
    result = pd.DataFrame(
        {
            "contact_id": idx,
            "model": "b2b-saas",
            "fit": f,
            "engagement": engagement,
            "total": total,
            "grade": grade,
            "stage": pd.Series(stage).where(~excluded, None).to_numpy(),
            "excluded": excluded,
        }
    )
    result.sort_values("contact_id").to_parquet(out, index=False)
    return {}


def run_polars(contacts: str, events: str, out: str, threads: int | None) -> dict:
    """The model in vectorised Polars, lazy (Rust's regular expressions: Unicode \\b)."""
    if threads:
        os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl

    col, lit = pl.col, pl.lit
    e = (
        pl.scan_parquet(events)
        .select(EVENT_COLUMNS)
        .with_columns(pl.col(pl.Categorical).cast(pl.String))  # DuckDB's enums
        .with_columns(t=col("ts").dt.epoch("us"))
        .filter(col("t") <= AS_OF_US)
        .with_columns(
            k=pl.when(col("event_id").str.strip_chars() != "").then(col("event_id")),
            ty=col("type").str.to_lowercase(),
            url=col("url").str.to_lowercase(),
        )
    )
    keyed = (
        e.filter(col("k").is_not_null())
        .sort(["t", "type"])
        .unique(["contact_id", "k"], keep="first", maintain_order=False)
    )
    e = pl.concat([keyed, e.filter(col("k").is_null())])
    age = lit(AS_OF_US) - col("t")
    half = lit(0.5).pow(age / 2592e9)
    pv = col("ty") == "page_view"
    agg = e.group_by("contact_id").agg(
        pv=half.filter(pv & (age <= 2592e9)).sum(),
        clicks=(3 * half).filter((col("ty") == "email_click") & (age <= 7776e9)).sum(),
        careers=(-10 * half).filter(pv & col("url").str.contains("/careers", literal=True)).sum(),
        webinar=pl.when(age <= 10368e9)
        .then(15.0)
        .otherwise(0.0)
        .filter(col("ty") == "webinar_attended")
        .sum(),
        engaged=(col("ty").is_in(ENGAGED) & (age <= 2592e9)).sum(),
        last_t=col("t").max(),
        unsub=(col("ty") == "unsubscribe").any(),
        demo_t=col("t")
        .filter(
            (col("ty") == "form_submit")
            & col("form_id").str.to_lowercase().is_in(["demo", "contact-sales"])
        )
        .max(),
    )
    pricing = (
        e.filter(pv & col("url").str.contains("/pricing", literal=True))
        .group_by("contact_id", (col("t") // DAY_US).alias("day"))
        .agg(col("t").max())
        .group_by("contact_id")
        .agg(pricing=(5 * lit(0.5).pow((lit(AS_OF_US) - col("t")) / 2592e9)).sum())
    )
    content = (
        e.filter(col("ty") == "asset_download")
        .with_columns(a=pl.when(col("asset_id").str.strip_chars() != "").then(col("asset_id")))
        .group_by("contact_id", "a")
        .agg(col("t").max())
        .group_by("contact_id")
        .agg(content=(8 * (1 - (lit(AS_OF_US) - col("t")) / 15552e9).clip(lower_bound=0)).sum())
    )

    def low(name: str) -> pl.Expr:
        return col(name).str.to_lowercase()

    def number(name: str) -> pl.Expr:
        return col(name).str.strip_chars().cast(pl.Float64, strict=False)

    def present(name: str) -> pl.Expr:
        return (col(name).str.strip_chars() != "").fill_null(False).cast(pl.Int32)

    def points(cond: pl.Expr, pts: int) -> pl.Expr:
        return pl.when(cond.fill_null(False)).then(pts).otherwise(0)

    emp = number("employees")
    title = col("job_title")
    fit = pl.min_horizontal(
        points(low("email_type") == "business", 10)
        + points(low("country").is_in(COUNTRIES), 10)
        + points(title.str.contains(FIT_TITLE), 15)
        + pl.when(emp.is_between(50, 500))
        .then(15)
        .when(emp.is_between(501, 5000))
        .then(10)
        .when(emp < 10)
        .then(-5)
        .otherwise(0)
        + points(low("industry").is_in(INDUSTRIES), 5)
        + points(number("budget") >= 10000, 5)
        + 2 * (present("phone") + present("company") + present("job_title")),
        lit(60),
    ).cast(pl.Float64)
    z = pl.lit(0.0)
    engagement = pl.min_horizontal(
        pl.min_horizontal(col("pricing").fill_null(z), lit(20.0))
        + pl.min_horizontal(col("pv").fill_null(z), lit(10.0))
        + pl.when(col("demo_t") >= AS_OF_US - 2592e9)
        .then(30.0)
        .when(col("demo_t") >= AS_OF_US - 7776e9)
        .then(15.0)
        .otherwise(0.0)
        + pl.min_horizontal(col("content").fill_null(z), lit(24.0))
        + pl.min_horizontal(col("clicks").fill_null(z), lit(15.0))
        + col("webinar").fill_null(z)
        + points(col("engaged") >= 5, 10)
        + pl.max_horizontal(col("careers").fill_null(z), lit(-10.0))
        + points(col("last_t") < AS_OF_US - 7776e9, -20),
        lit(60.0),
    )
    excluded = (
        low("email_domain").is_in(RIVALS).fill_null(False)
        | title.str.contains(STUDENT).fill_null(False)
        | col("unsub").fill_null(False)
    )
    total = (
        pl.when(col("excluded")).then(0.0).otherwise((col("fit") + col("engagement")).clip(0, 100))
    )
    scored = (
        pl.scan_parquet(contacts)
        .select(CONTACT_COLUMNS)
        .with_columns(pl.col(pl.Categorical).cast(pl.String))
        .join(agg, left_on="id", right_on="contact_id", how="left")
        .join(pricing, left_on="id", right_on="contact_id", how="left")
        .join(content, left_on="id", right_on="contact_id", how="left")
        .select(
            col("id").alias("contact_id"),
            lit("b2b-saas").alias("model"),
            fit.alias("fit"),
            engagement.alias("engagement"),
            excluded.alias("excluded"),
        )
        .with_columns(total=total)
        .with_columns(
            grade=pl.when(col("fit") >= 45)
            .then(lit("A"))
            .when(col("fit") >= 30)
            .then(lit("B"))
            .when(col("fit") >= 15)
            .then(lit("C"))
            .otherwise(lit("D")),
            stage=pl.when(col("excluded"))
            .then(None)
            .when((col("total") >= 80) & (col("fit") >= 30))
            .then(lit("SQL"))
            .when(col("total") >= 50)
            .then(lit("MQL"))
            .otherwise(lit("lead")),
        )
        .sort("contact_id")
    )
    scored.sink_parquet(out)
    return {}


def run_spark(contacts: str, events: str, out: str, threads: int | None) -> dict:
    """The compiled query on Spark local mode; reports the stages its jobs ran."""
    from leadscore.engine.sql.spark import prepare_contacts, register_parquet, session
    from leadscore.model import load_model

    spark = session(f"local[{threads or 2}]", shuffle_partitions=max(2, (threads or 2) * 2))
    try:
        register_parquet(spark, contacts, events)
        spark.sparkContext.setJobGroup("score", "batch benchmark")
        # as `leadscore score --engine spark` runs it: the events step cached once
        sql, _ = prepare_contacts([load_model(MODEL)], spark, as_of=AS_OF)
        spark.sql(sql).write.mode("overwrite").parquet(out)
        tracker = spark.sparkContext.statusTracker()
        stages = set()
        for job in tracker.getJobIdsForGroup("score"):
            info = tracker.getJobInfo(job)
            if info is not None:
                stages.update(info.stageIds)
    finally:
        spark.stop()
    return {"stages": len(stages)}


CONTENDERS = {
    "careful-duckdb": run_careful,
    "compiled": run_compiled,
    "accounts": run_accounts,
    "polars": run_polars,
    "pandas": run_pandas,
    "spark": run_spark,
}
COMMANDS = {"command": False, "command-unlimited": True}  # name → --memory-limit unlimited
SLOW = {"pandas", "spark"}  # one run each: minutes, and far from the others


# ----------------------------------------------------------------------------- measuring


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


WITH_ACCOUNTS = {"accounts"}  # contenders that read the accounts file too


def measure(
    name: str,
    contacts: Path,
    events: Path,
    out: Path,
    threads: int | None,
    accounts: Path | None = None,
) -> dict:
    """Run one contender in a fresh process; wall seconds and peak memory of its tree.

    A command's time is the whole process (start-up included, as a user waits for it);
    the others time their work inside the child process."""
    if name in COMMANDS:
        cmd = command(str(contacts), str(events), str(out), COMMANDS[name])
    else:
        cmd = [sys.executable, __file__, "--child", name, str(contacts), str(events), str(out)]
        if threads:
            cmd += ["--threads", str(threads)]
        if name in WITH_ACCOUNTS:
            cmd += ["--child-accounts", str(accounts)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{stderr[-3000:]}")
    result = {"seconds": wall} if name in COMMANDS else json.loads(stdout.strip().splitlines()[-1])
    result["peak_bytes"] = peak
    return result


def child(
    name: str, contacts: str, events: str, out: str, threads: int | None, accounts: str | None
) -> None:
    start = time.perf_counter()
    extra = {"accounts": accounts} if name in WITH_ACCOUNTS else {}
    got = CONTENDERS[name](contacts, events, out, threads, **extra)
    print(json.dumps({"seconds": time.perf_counter() - start, **got}))


def agreement(a: Path, b: Path) -> str:
    """How many contacts get the same total and stage from two result files."""
    import duckdb

    def files(p: Path) -> str:
        return f"{p}/*.parquet" if p.is_dir() else str(p)

    row = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(*) FILTER (WHERE abs(x.total - y.total) <= 1e-9 AND "
            "x.stage IS NOT DISTINCT FROM y.stage) "
            f"FROM read_parquet('{files(a)}') x "
            f"JOIN read_parquet('{files(b)}') y USING (contact_id)"
        )
        .fetchone()
    )
    return f"{row[1]:,}/{row[0]:,}"


def data(contacts: int, seed: int, root: Path, accounts: int | None = None) -> tuple[Path, Path]:
    """Generated contacts (enriched, as `leadscore enrich` writes them) and events, with
    accounts.parquet beside them, cached by size, seed and number of accounts (default
    one per 10 contacts)."""
    accounts = accounts or default_accounts(contacts)
    folder = root / f"c{contacts}-s{seed}-a{accounts}"
    raw, e = folder / "contacts.parquet", folder / "events.parquet"
    c = folder / "contacts_enriched.parquet"
    if not (raw.exists() and e.exists() and accounts_file(raw).exists()):
        from leadscore.data.generate import generate

        print(
            f"generating {contacts:,} contacts, {accounts:,} accounts into {folder} …", flush=True
        )
        generate(contacts, seed, folder, accounts=accounts)
    if not c.exists():
        print(f"enriching {raw} …", flush=True)
        exe = Path(sys.executable).with_name("leadscore")
        cmd = [str(exe), "enrich", "--contacts", str(raw), "--out", str(c)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return c, e


def default_accounts(contacts: int) -> int:
    return max(1, contacts // 10)


def accounts_file(contacts: Path) -> Path:
    return contacts.with_name("accounts.parquet")


def replicate(
    contacts: int, seed: int, times: int, root: Path, accounts: int | None = None
) -> tuple[Path, Path]:
    """``times`` copies of the generated data with distinct ids (contact ids and event ids
    get a copy prefix), for sizes the generator is not asked to make in one go."""
    import duckdb

    base_c, base_e = data(contacts, seed, root, accounts)
    folder = base_c.parent.with_name(f"{base_c.parent.name}-x{times}")
    c, e = folder / "contacts.parquet", folder / "events.parquet"
    if c.exists() and e.exists():
        return c, e
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    copies = f"range({times}) r(k)"
    con.execute(
        f"COPY (SELECT * REPLACE ('r' || k || '-' || id AS id) FROM '{base_c}', {copies}) "
        f"TO '{c}' (FORMAT PARQUET)"
    )
    con.execute(
        f"COPY (SELECT * REPLACE ('r' || k || '-' || contact_id AS contact_id, "
        f"'r' || k || '-' || event_id AS event_id) FROM '{base_e}', {copies}) "
        f"TO '{e}' (FORMAT PARQUET)"
    )
    return c, e


def n_events(path: Path) -> int:
    import duckdb

    return duckdb.connect().execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument(
        "--accounts",
        type=int,
        default=None,
        help="companies in the generated data (default: contacts // 10); the accounts "
        "contender scores them",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scales", default="0.1,1,3", help="data sizes for the scaling table")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "leadscore-bench"
    )
    for name in ("spark", "pandas", "polars", "accounts"):
        ap.add_argument(f"--skip-{name}", action="store_true")
    ap.add_argument("--child", nargs=4, metavar=("NAME", "CONTACTS", "EVENTS", "OUT"))
    ap.add_argument("--child-accounts", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.threads, args.child_accounts)
        return

    n_accounts = args.accounts or default_accounts(args.contacts)
    c, e = data(args.contacts, args.seed, args.data_dir, n_accounts)
    a = accounts_file(c)
    out_dir = Path(tempfile.mkdtemp(prefix="leadscore-bench-out-"))
    try:
        print(
            f"{args.contacts:,} contacts, {n_events(e):,} events, {n_events(a):,} accounts; "
            f"as of {AS_OF}; {os.cpu_count()} CPU(s)\n",
            flush=True,
        )
        results = contest(args, c, e, a, out_dir)
        report(args, results, out_dir)
        scaling(args, n_accounts, c, e, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def contest(args, c: Path, e: Path, a: Path, out_dir: Path) -> dict[str, dict]:
    """Interleaved rounds of every contender; medians of the fast ones, one run of each
    slow one (pandas, Spark)."""
    names = ["careful-duckdb", "compiled", "command", "command-unlimited"]
    names += [
        n for n in ("accounts", "polars", "pandas", "spark") if not getattr(args, f"skip_{n}")
    ]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for round_no in range(args.repeat):
        for name in names:
            if name in SLOW and round_no > 0:
                continue
            out = out_dir / f"{name}.parquet"
            got = measure(name, c, e, out, args.threads, a)
            runs[name].append(got)
            print(
                f"  round {round_no + 1}: {name:<18} {got['seconds']:8.2f} s  "
                f"peak {got['peak_bytes'] / 2**20:7.0f} MiB",
                flush=True,
            )
    return {
        name: {
            "seconds": statistics.median(r["seconds"] for r in got),
            "peak_bytes": max(r["peak_bytes"] for r in got),
            "runs": len(got),
            **({"stages": got[0]["stages"]} if "stages" in got[0] else {}),
        }
        for name, got in runs.items()
    }


def report(args, results: dict[str, dict], out_dir: Path) -> None:
    ref = results["careful-duckdb"]["seconds"]
    cmd = results["command"]["seconds"]
    print(
        "\n| contender | time (s) | vs careful DuckDB | peak memory (MiB) | runs |"
        " same total and stage as the command |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        if name in WITH_ACCOUNTS:
            same = "(abm.yaml, with its accounts)"
        elif name == "command":
            same = "-"
        else:
            same = agreement(out_dir / "command.parquet", out_dir / f"{name}.parquet")
        label = name + (f" ({r['stages']} stages)" if "stages" in r else "")
        print(
            f"| {label} | {r['seconds']:.2f} | {r['seconds'] / ref:.2f}× | "
            f"{r['peak_bytes'] / 2**20:.0f} | {r['runs']} | {same} |"
        )

    def check(label: str, value: float, target: str, ok: bool) -> None:
        print(f"  {label}: {value:.2f} (target {target}) {'ok' if ok else 'MISSED'}")

    print("\ntargets:")
    compiled = results["compiled"]["seconds"] / ref
    check("compiled query / careful query", compiled, "≤ 1.10", compiled <= 1.10)
    check("whole command / careful query", cmd / ref, "≤ 1.30", cmd / ref <= 1.30)
    peak = results["command"]["peak_bytes"] / 2**20
    check("command peak memory (MiB)", peak, "≤ 1024", peak <= 1024)
    slower = cmd / results["command-unlimited"]["seconds"]
    check("command, default limit / unlimited", slower, "≤ 1.10", slower <= 1.10)
    if "pandas" in results:
        ratio = results["pandas"]["seconds"] / cmd
        check("pandas / command", ratio, "≥ 5", ratio >= 5)
    if "polars" in results:
        print(f"  polars / command: {results['polars']['seconds'] / cmd:.2f}")
    if "spark" in results:
        print(f"  spark / command: {results['spark']['seconds'] / cmd:.2f}")
    if "accounts" in results:
        acc = results["accounts"]["seconds"] / results["compiled"]["seconds"]
        check("contacts and accounts / contacts only", acc, "≤ 1.30", acc <= 1.30)


def scaling(args, n_accounts: int, c: Path, e: Path, out_dir: Path) -> None:
    scales = [float(s) for s in args.scales.split(",") if s]
    if not scales:
        return
    print("\n| data | contacts | events | command (s) | s per million events | peak memory (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for scale in scales:
        size = round(args.contacts * scale)
        if scale > 1 and scale == int(scale):
            sc, se = replicate(args.contacts, args.seed, int(scale), args.data_dir, n_accounts)
        elif size == args.contacts:
            sc, se = c, e
        else:
            sc, se = data(size, args.seed, args.data_dir)
        events = n_events(se)
        got = [
            measure("command", sc, se, out_dir / f"scale-{size}.parquet", args.threads)
            for _ in range(args.repeat)
        ]
        secs = statistics.median(r["seconds"] for r in got)
        peak = max(r["peak_bytes"] for r in got)
        print(
            f"| {scale:g}× | {size:,} | {events:,} | {secs:.2f} | "
            f"{secs / events * 1e6:.3f} | {peak / 2**20:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
