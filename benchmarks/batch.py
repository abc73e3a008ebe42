"""Batch scoring benchmark: the b2b_saas model over generated contacts and events.

Compares, measured in one run on the same files:

* leadscore on DuckDB (the compiled query, files read as text as the CLI reads them);
* leadscore on DuckDB scoring accounts too: examples/abm.yaml (b2b_saas's contact
  rules, two that read the account, and an account section rolled up from the
  contacts) over the same contacts and events plus the generated accounts (by
  default one per 10 contacts), contacts and accounts each written to Parquet;
* the same model written by hand as one DuckDB query (the practical limit);
* a straightforward pandas implementation;
* leadscore on Spark (local mode);

each in its own process, with its wall time and peak memory (resident set of the
process and its children, sampled every 20 ms), then leadscore on DuckDB at
0.1×, 1× and 3× the data to show how time grows.

    python benchmarks/batch.py                      # 1M contacts / ~20M events, 100k accounts
    python benchmarks/batch.py --contacts 100000 --scales 1 --skip-spark
"""

from __future__ import annotations

import argparse
import json
import os
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


# ----------------------------------------------------------------------------- the contenders


def run_leadscore_duckdb(contacts: str, events: str, out: str, threads: int | None) -> dict:
    from leadscore.engine.sql.duckdb import query_sql
    from leadscore.model import load_model

    con = _duck(threads)
    _text_views(con, contacts, events)
    sql = query_sql([load_model(MODEL)], con, as_of=AS_OF)
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT PARQUET)")
    return {}


def run_leadscore_duckdb_accounts(
    contacts: str, events: str, out: str, threads: int | None, accounts: str
) -> dict:
    """Contacts and accounts of examples/abm.yaml: the account plan's steps as temporary
    tables, then both outputs written, as `leadscore score --accounts` does."""
    from leadscore.engine.sql.duckdb import prepare_accounts
    from leadscore.model import load_model

    con = _duck(threads)
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


def _duck(threads: int | None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '768MB'")  # the same for both DuckDB contenders
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/leadscore-bench-spill'")
    if threads:
        con.execute(f"SET threads = {threads}")
    return con


def _text_views(con, contacts: str, events: str) -> None:
    """Every property and attribute as text, as leadscore.data.io.load_inputs exposes them."""
    ccols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{contacts}'").fetchall()]
    ecols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{events}'").fetchall()]
    csel = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in ccols)
    esel = ", ".join(f'"{c}"' if c == "ts" else f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in ecols)
    con.execute(f"CREATE VIEW contacts AS SELECT {csel} FROM '{contacts}'")
    con.execute(f"CREATE VIEW events AS SELECT {esel} FROM '{events}'")


HAND_SQL = r"""
-- (LEAST and GREATEST skip NULLs in DuckDB: coalesce first.)
WITH e AS (
  SELECT contact_id, ts, type, url, form_id, asset_id,
         epoch_us(TIMESTAMPTZ '{as_of}') - epoch_us(ts) AS age_us
  FROM read_parquet('{events}')
  WHERE ts <= TIMESTAMPTZ '{as_of}'
  QUALIFY row_number() OVER (PARTITION BY contact_id, event_id ORDER BY ts, type) = 1
),
a AS (
  SELECT contact_id,
    count(*) FILTER (WHERE type = 'page_view' AND age_us <= 30 * 86400e6) AS pv_n,
    sum(pow(0.5, age_us / 1e6 / 2592000)) FILTER (
      WHERE type = 'page_view' AND age_us <= 30 * 86400e6) AS pv,
    sum(3 * pow(0.5, age_us / 1e6 / 2592000)) FILTER (
      WHERE type = 'email_click' AND age_us <= 90 * 86400e6) AS clicks,
    sum(-10 * pow(0.5, age_us / 1e6 / 2592000)) FILTER (
      WHERE type = 'page_view' AND contains(lower(url), '/careers')) AS careers,
    sum(CASE WHEN age_us <= 120 * 86400e6 THEN 15 ELSE 0 END) FILTER (
      WHERE type = 'webinar_attended') AS webinar,
    count(*) FILTER (WHERE type IN ('page_view', 'email_click', 'form_submit',
      'webinar_attended') AND age_us <= 30 * 86400e6) AS engaged_n,
    min(age_us) AS last_age,
    bool_or(type = 'unsubscribe') AS unsubscribed,
    max(CASE WHEN type = 'form_submit' AND lower(form_id) IN ('demo', 'contact-sales')
        THEN ts END) AS demo_ts
  FROM e GROUP BY contact_id
),
pricing AS (
  SELECT contact_id, sum(5 * pow(0.5, age_us / 1e6 / 2592000)) AS pricing FROM (
    SELECT contact_id, age_us, row_number() OVER (
      PARTITION BY contact_id, CAST(ts AS DATE) ORDER BY ts DESC) AS rn
    FROM e WHERE type = 'page_view' AND contains(lower(url), '/pricing')
  ) WHERE rn = 1 GROUP BY contact_id
),
content AS (
  SELECT contact_id, sum(8 * greatest(0, 1 - age_us / 1e6 / 15552000)) AS content FROM (
    SELECT contact_id, age_us, row_number() OVER (
      PARTITION BY contact_id, asset_id ORDER BY ts DESC) AS rn
    FROM e WHERE type = 'asset_download'
  ) WHERE rn = 1 GROUP BY contact_id
),
s AS (
  SELECT c.id AS contact_id,
    least(
      CASE WHEN c.country IN ('FR', 'BE', 'CH', 'CA', 'US', 'GB', 'DE') THEN 10 ELSE 0 END
      + CASE WHEN regexp_matches(c.job_title,
          '(?i)\b(ceo|cto|cmo|vp|head|director|directeur|founder)\b') THEN 15 ELSE 0 END
      + CASE WHEN c.employees BETWEEN 50 AND 500 THEN 15
             WHEN c.employees BETWEEN 501 AND 5000 THEN 10
             WHEN c.employees < 10 THEN -5 ELSE 0 END
      + CASE WHEN lower(c.industry) IN ('software', 'financial services', 'healthcare')
             THEN 5 ELSE 0 END
      + CASE WHEN c.budget >= 10000 THEN 5 ELSE 0 END
      + 2 * (coalesce(c.phone <> '', false)::INT + coalesce(c.company <> '', false)::INT
           + coalesce(c.job_title <> '', false)::INT),
      60) AS fit,
    least(
      coalesce(CASE WHEN pricing > 20 THEN 20 ELSE pricing END, 0)
      + least(coalesce(pv, 0), 10)
      + CASE WHEN a.demo_ts IS NULL THEN 0
             WHEN a.demo_ts >= TIMESTAMPTZ '{as_of}' - INTERVAL 30 DAY THEN 30
             WHEN a.demo_ts >= TIMESTAMPTZ '{as_of}' - INTERVAL 90 DAY THEN 15 ELSE 0 END
      + least(coalesce(content, 0), 24)
      + least(coalesce(clicks, 0), 15)
      + coalesce(webinar, 0)
      + CASE WHEN engaged_n >= 5 THEN 10 ELSE 0 END
      + greatest(coalesce(careers, 0), -10)
      + CASE WHEN last_age > 90 * 86400e6 THEN -20 ELSE 0 END,
      60) AS engagement,
    coalesce(regexp_matches(c.job_title, '(?i)\b(student|étudiant|intern)\b'), false)
      AS student,
    coalesce(a.unsubscribed, false) AS unsubscribed
  FROM read_parquet('{contacts}') c
  LEFT JOIN a ON a.contact_id = c.id
  LEFT JOIN pricing p ON p.contact_id = c.id
  LEFT JOIN content ct ON ct.contact_id = c.id
)
SELECT contact_id, 'b2b-saas' AS model, fit, engagement,
  CASE WHEN student OR unsubscribed THEN 0
       ELSE least(greatest(fit + engagement, 0), 100) END AS total,
  CASE WHEN fit >= 45 THEN 'A' WHEN fit >= 30 THEN 'B' WHEN fit >= 15 THEN 'C' ELSE 'D' END
    AS grade,
  CASE WHEN student OR unsubscribed THEN NULL
       WHEN least(greatest(fit + engagement, 0), 100) >= 80 AND fit >= 30 THEN 'SQL'
       WHEN least(greatest(fit + engagement, 0), 100) >= 50 THEN 'MQL' ELSE 'lead' END AS stage,
  student OR unsubscribed AS excluded
FROM s ORDER BY contact_id
"""


def run_hand_duckdb(contacts: str, events: str, out: str, threads: int | None) -> dict:
    con = _duck(threads)
    sql = HAND_SQL.format(as_of=AS_OF, contacts=contacts, events=events)
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT PARQUET)")
    return {}


def run_pandas(contacts: str, events: str, out: str, threads: int | None) -> dict:
    import numpy as np
    import pandas as pd

    as_of = pd.Timestamp(AS_OF)
    c = pd.read_parquet(contacts)
    e = pd.read_parquet(
        events, columns=["contact_id", "event_id", "type", "ts", "url", "form_id", "asset_id"]
    )
    for frame in (c, e):
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.CategoricalDtype):
                frame[name] = frame[name].astype(object)
    e = e[e["ts"] <= as_of]
    e = e.sort_values(["contact_id", "event_id", "ts", "type"]).drop_duplicates(
        ["contact_id", "event_id"], keep="first"
    )
    e["age"] = (as_of - e["ts"]).dt.total_seconds()
    half = 0.5 ** (e["age"] / 2592000)
    is_pv = e["type"] == "page_view"
    url = e["url"].fillna("").str.lower()

    def per_contact(mask, values):
        return values[mask].groupby(e["contact_id"][mask]).sum()

    pv = per_contact(is_pv & (e["age"] <= 30 * 86400), half).clip(upper=10)
    clicks = per_contact((e["type"] == "email_click") & (e["age"] <= 90 * 86400), 3 * half).clip(
        upper=15
    )
    careers = per_contact(is_pv & url.str.contains("/careers", regex=False), -10 * half).clip(
        lower=-10
    )
    webinar = per_contact(
        e["type"] == "webinar_attended",
        pd.Series(np.where(e["age"] <= 120 * 86400, 15.0, 0.0), e.index),
    )
    engaged = (
        e[
            e["type"].isin(["page_view", "email_click", "form_submit", "webinar_attended"])
            & (e["age"] <= 30 * 86400)
        ]
        .groupby("contact_id")
        .size()
    )
    last_age = e.groupby("contact_id")["age"].min()
    unsub = e[e["type"] == "unsubscribe"].groupby("contact_id").size() > 0
    pricing_ev = e[is_pv & url.str.contains("/pricing", regex=False)].copy()
    pricing_ev["day"] = pricing_ev["ts"].dt.floor("D")
    pricing_ev = pricing_ev.sort_values("ts").drop_duplicates(["contact_id", "day"], keep="last")
    pricing = (
        (5 * 0.5 ** (pricing_ev["age"] / 2592000))
        .groupby(pricing_ev["contact_id"])
        .sum()
        .clip(upper=20)
    )
    demo_ev = e[
        (e["type"] == "form_submit")
        & e["form_id"].fillna("").str.lower().isin(["demo", "contact-sales"])
    ]
    demo_age = demo_ev.groupby("contact_id")["age"].min()
    demo = pd.Series(
        np.select([demo_age <= 30 * 86400, demo_age <= 90 * 86400], [30.0, 15.0], 0.0),
        demo_age.index,
    )
    dl = (
        e[e["type"] == "asset_download"]
        .sort_values("ts")
        .drop_duplicates(["contact_id", "asset_id"], keep="last")
    )
    content = (
        (8 * (1 - dl["age"] / 15552000).clip(lower=0))
        .groupby(dl["contact_id"])
        .sum()
        .clip(upper=24)
    )

    c = c.set_index("id")
    title = c["job_title"].fillna("")
    fit = (
        np.where(c["country"].isin(["FR", "BE", "CH", "CA", "US", "GB", "DE"]), 10, 0)
        + np.where(
            title.str.contains(
                r"(?i)\b(?:ceo|cto|cmo|vp|head|director|directeur|founder)\b", regex=True
            ),
            15,
            0,
        )
        + np.select(
            [
                c["employees"].between(50, 500),
                c["employees"].between(501, 5000),
                c["employees"] < 10,
            ],
            [15, 10, -5],
            0,
        )
        + np.where(
            c["industry"]
            .fillna("")
            .str.lower()
            .isin(["software", "financial services", "healthcare"]),
            5,
            0,
        )
        + np.where(c["budget"] >= 10000, 5, 0)
        + 2 * (c[["phone", "company", "job_title"]].fillna("").ne("").sum(axis=1))
    )
    fit = pd.Series(fit, c.index).clip(upper=60).astype(float)
    idx = c.index
    engagement = (
        pricing.reindex(idx, fill_value=0)
        + pv.reindex(idx, fill_value=0)
        + demo.reindex(idx, fill_value=0)
        + content.reindex(idx, fill_value=0)
        + clicks.reindex(idx, fill_value=0)
        + webinar.reindex(idx, fill_value=0)
        + np.where(engaged.reindex(idx, fill_value=0) >= 5, 10, 0)
        + careers.reindex(idx, fill_value=0)
        + np.where(last_age.reindex(idx) > 90 * 86400, -20, 0)
    ).clip(upper=60)
    student = title.str.contains(r"(?i)\b(?:student|étudiant|intern)\b", regex=True)
    excluded = student | unsub.reindex(idx, fill_value=False)
    total = (fit + engagement).clip(0, 100).where(~excluded, 0.0)
    grade = pd.Series(np.select([fit >= 45, fit >= 30, fit >= 15], ["A", "B", "C"], "D"), idx)
    stage = pd.Series(np.select([total >= 80, total >= 50], ["SQL", "MQL"], "lead"), idx)
    stage = stage.where(
        ~((stage == "SQL") & ~grade.isin(["A", "B"])), np.where(total >= 50, "MQL", "lead")
    )
    stage = stage.where(~excluded, None)
    result = pd.DataFrame(
        {
            "contact_id": idx,
            "model": "b2b-saas",
            "fit": fit.values,
            "engagement": engagement.values,
            "total": total.values,
            "grade": grade.values,
            "stage": stage.values,
            "excluded": excluded.values,
        }
    )
    result.sort_values("contact_id").to_parquet(out, index=False)
    return {}


def run_spark(contacts: str, events: str, out: str, threads: int | None) -> dict:
    from leadscore.engine.sql.spark import query_sql, register_parquet, session
    from leadscore.model import load_model

    spark = session(f"local[{threads or '*'}]", shuffle_partitions=max(2, (threads or 2) * 2))
    try:
        register_parquet(spark, contacts, events)
        sql = query_sql([load_model(MODEL)], spark, as_of=AS_OF)
        spark.sql(sql).write.mode("overwrite").parquet(out)
    finally:
        spark.stop()
    return {}


CONTENDERS = {
    "leadscore-duckdb": run_leadscore_duckdb,
    "leadscore-duckdb-accounts": run_leadscore_duckdb_accounts,
    "hand-duckdb": run_hand_duckdb,
    "pandas": run_pandas,
    "leadscore-spark": run_spark,
}


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


WITH_ACCOUNTS = {"leadscore-duckdb-accounts"}  # contenders that read the accounts file too


def measure(
    name: str,
    contacts: Path,
    events: Path,
    out: Path,
    threads: int | None,
    accounts: Path | None = None,
) -> dict:
    """Run one contender in a fresh process; wall seconds and peak memory of its tree."""
    cmd = [sys.executable, __file__, "--child", name, str(contacts), str(events), str(out)]
    if threads:
        cmd += ["--threads", str(threads)]
    if name in WITH_ACCOUNTS:
        cmd += ["--child-accounts", str(accounts)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_bytes"] = peak
    return result


def child(
    name: str, contacts: str, events: str, out: str, threads: int | None, accounts: str | None
) -> None:
    start = time.perf_counter()
    extra = {"accounts": accounts} if name in WITH_ACCOUNTS else {}
    CONTENDERS[name](contacts, events, out, threads, **extra)
    print(json.dumps({"seconds": time.perf_counter() - start}))


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
    """Generated contacts and events (and accounts.parquet beside them), cached by size,
    seed and number of accounts (default one per 10 contacts)."""
    accounts = accounts or default_accounts(contacts)
    folder = root / f"c{contacts}-s{seed}-a{accounts}"
    c, e = folder / "contacts.parquet", folder / "events.parquet"
    if not (c.exists() and e.exists() and accounts_file(c).exists()):
        from leadscore.data.generate import generate

        print(
            f"generating {contacts:,} contacts, {accounts:,} accounts into {folder} …", flush=True
        )
        generate(contacts, seed, folder, accounts=accounts)
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
    ap.add_argument("--repeat", type=int, default=3, help="runs per DuckDB figure (median)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "leadscore-bench"
    )
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument(
        "--spark-contacts",
        type=int,
        default=None,
        help="data size for Spark (default: --contacts); Spark local mode on a "
        "small machine is slow",
    )
    ap.add_argument("--skip-accounts", action="store_true")
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
    print(
        f"{args.contacts:,} contacts, {n_events(e):,} events, {n_events(a):,} accounts "
        f"({n_accounts:,} companies); as of {AS_OF}; {os.cpu_count()} CPU(s)\n"
    )
    names = ["leadscore-duckdb", "hand-duckdb"]
    if not args.skip_accounts:
        names.insert(1, "leadscore-duckdb-accounts")
    if not args.skip_pandas:
        names.append("pandas")
    if not args.skip_spark:
        names.append("leadscore-spark")
    results: dict[str, dict] = {}
    for name in names:
        runs = args.repeat if "duckdb" in name else 1
        nc, ne = c, e
        if name == "leadscore-spark" and args.spark_contacts:
            nc, ne = data(args.spark_contacts, args.seed, args.data_dir)
        got = [
            measure(name, nc, ne, out_dir / f"{name}.parquet", args.threads, a) for _ in range(runs)
        ]
        results[name] = {
            "seconds": statistics.median(r["seconds"] for r in got),
            "data": nc,
            "peak_bytes": max(r["peak_bytes"] for r in got),
            "runs": runs,
        }
        print(
            f"  {name:<25} {results[name]['seconds']:8.2f} s  "
            f"peak {results[name]['peak_bytes'] / 2**20:8.0f} MiB  ({runs} run(s))",
            flush=True,
        )
    ref = results["hand-duckdb"]["seconds"]
    ls = results["leadscore-duckdb"]["seconds"]
    print(
        "\n| engine | contacts | time (s) | vs hand-written DuckDB | vs leadscore DuckDB |"
        " peak memory (MiB) | same total and stage as leadscore DuckDB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        if name in WITH_ACCOUNTS:
            same = "(abm.yaml and its accounts)"
            vs_ref, vs_ls = f"{r['seconds'] / ref:.2f}×", f"{r['seconds'] / ls:.2f}×"
            size = args.contacts
        elif r["data"] == c:
            same = agreement(out_dir / "leadscore-duckdb.parquet", out_dir / f"{name}.parquet")
            size = args.contacts
            vs_ref, vs_ls = f"{r['seconds'] / ref:.2f}×", f"{r['seconds'] / ls:.2f}×"
        else:
            same, size, vs_ref, vs_ls = "(other data)", args.spark_contacts, "-", "-"
        print(
            f"| {name} | {size:,} | {r['seconds']:.2f} | {vs_ref} | {vs_ls} | "
            f"{r['peak_bytes'] / 2**20:.0f} | {same} |"
        )

    if "leadscore-duckdb-accounts" in results:
        acc = results["leadscore-duckdb-accounts"]
        scored = n_events(Path(accounts_out(out_dir / "leadscore-duckdb-accounts.parquet")))
        print(
            "\n| run | model | contacts | accounts | time (s) | peak memory (MiB) |\n"
            "| --- | --- | ---: | ---: | ---: | ---: |\n"
            f"| contacts only | b2b_saas | {args.contacts:,} | - | {ls:.2f} | "
            f"{results['leadscore-duckdb']['peak_bytes'] / 2**20:.0f} |\n"
            f"| contacts and accounts | abm | {args.contacts:,} | {scored:,} | "
            f"{acc['seconds']:.2f} | {acc['peak_bytes'] / 2**20:.0f} |"
        )
        print(
            f"\naccount scoring: {acc['seconds'] / ls:.2f}× the contacts-only batch time "
            f"({(acc['seconds'] / ls - 1) * 100:+.0f}%; target: at most +30%)"
        )

    scales = [float(s) for s in args.scales.split(",") if s]
    if scales:
        print(
            "\n| data | contacts | events | leadscore DuckDB (s) | s per million events |"
            " peak memory (MiB) |"
        )
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
                measure("leadscore-duckdb", sc, se, out_dir / f"scale-{size}.parquet", args.threads)
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
