"""Contacts enriched per second in batch, against a naive loop over the rows.

    python benchmarks/enrich.py [--contacts 100000] [--baseline-rows 20000] [--runs 3]

Data: the seeded synthetic contacts of ``leadscore.data.generate`` (e-mail,
phone, country, job title, company), Parquet in a temporary folder, plus a
synthetic IP address per contact (one in twenty left blank) so every enricher
has work.

* baseline: the naive way — read every row into Python, call
  ``enrich_contact`` on each, write the rows back into DuckDB through Arrow
  (on the first ``--baseline-rows`` contacts; its rate is per contact);
* batch: ``enrich_table`` on the whole table — the enrichers run once per
  distinct value, IPs located in one call, the result joined back in SQL.

Both start with the memo caches of the enrichers emptied, and both timings
include reading the file into DuckDB. Prints the median of ``--runs`` runs of
each, contacts per second of wall-clock time and per second of CPU time (the
steadier figure on a shared machine), and the ratios batch ÷ baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from leadscore.data.generate import generate  # noqa: E402
from leadscore.data.io import connect  # noqa: E402
from leadscore.enrich import enrich_contact, enrich_table  # noqa: E402


def clear_caches() -> None:
    from leadscore.enrich import company, email, geo, phone, titles

    for fn in (
        email._full, email._domain, email.domain_kind, phone._facts, geo.normalize_country,
        titles.classify_title, company.registrable_domain,
    ):  # fmt: skip
        fn.cache_clear()


def load(con, path: Path, rows: int | None) -> None:
    limit = f"LIMIT {int(rows)}" if rows else ""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE contacts AS SELECT id, email, phone, country, job_title, "
        "company, CASE WHEN hash(id) % 20 = 0 THEN NULL ELSE "
        "concat_ws('.', 2 + hash(id) % 220, hash(id || 'b') % 256, hash(id || 'c') % 256, "
        "1 + hash(id || 'd') % 254) END AS ip "
        f"FROM read_parquet('{path}') ORDER BY id {limit}"
    )


def time_batch(path: Path) -> tuple[float, float, int]:
    clear_caches()
    cpu = time.process_time()
    start = time.perf_counter()
    con = connect()
    load(con, path, None)
    report = enrich_table(con, "contacts")
    elapsed = time.perf_counter() - start
    return elapsed, time.process_time() - cpu, report.rows


def time_naive(path: Path, rows: int) -> tuple[float, float, int]:
    import pyarrow as pa

    from leadscore.engine import values as V

    clear_caches()
    cpu = time.process_time()
    start = time.perf_counter()
    con = connect()
    load(con, path, rows)
    cur = con.execute("SELECT * FROM contacts")
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        enriched = enrich_contact(dict(zip(names, row, strict=True)))
        out.append({k: V.text(v) for k, v in enriched.items()})
    columns = sorted({k for r in out for k in r})
    table = pa.Table.from_pylist(out, schema=pa.schema([(c, pa.string()) for c in columns]))
    con.register("__rows", table)
    con.execute("CREATE OR REPLACE TEMP TABLE contacts AS SELECT * FROM __rows")
    elapsed = time.perf_counter() - start
    return elapsed, time.process_time() - cpu, len(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        contacts, _ = generate(args.contacts, args.seed, tmp, events_per_contact=0.1)
        con = connect()
        load(con, contacts, None)
        distinct = con.execute(
            "SELECT count(*), count(DISTINCT email), count(DISTINCT phone), "
            "count(DISTINCT country), count(DISTINCT job_title), count(DISTINCT ip) "
            "FROM contacts"
        ).fetchone()
        print(
            f"{distinct[0]:,} contacts; distinct e-mails {distinct[1]:,}, phones {distinct[2]:,},"
            f" countries {distinct[3]:,}, titles {distinct[4]:,}, IPs {distinct[5]:,}"
        )
        naive = [time_naive(contacts, args.baseline_rows) for _ in range(args.runs)]
        batch = [time_batch(contacts) for _ in range(args.runs)]
    rates = {}
    for label, runs in (("baseline, per-row loop", naive), ("batch, enrich_table   ", batch)):
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        n = runs[0][2]
        rates[label] = (n / wall, n / cpu)
        print(
            f"{label}: {n:,} contacts, median of {args.runs}: {wall:.2f}s wall = "
            f"{n / wall:,.0f} contacts/s; {cpu:.2f}s CPU = {n / cpu:,.0f} contacts/CPU-s"
        )
    (naive_wall, naive_cpu), (batch_wall, batch_cpu) = rates.values()
    print(
        f"ratio batch / baseline: {batch_wall / naive_wall:.1f}x contacts per second (wall), "
        f"{batch_cpu / naive_cpu:.1f}x per CPU second"
    )


if __name__ == "__main__":
    main()
