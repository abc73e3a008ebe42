"""Loading a team's history into the service: `leadscore import` against the batch API.

Generates a funnel (``leadscore generate``: N contacts, about E events each), publishes
``examples/b2b_saas.yaml`` in a fresh store and loads the files two ways, each into a
store of its own:

* **import**: the path of ``leadscore import`` (:func:`leadscore.service.importing.import_files`):
  checks, one transaction, set-based writes, then every contact rescored; the load
  rate (rows/s, reading and checking included) and the rate with the scoring;
* **API**: a real ``leadscore serve`` on 127.0.0.1, the contacts through
  ``POST /v1/contacts/batch`` and the events through ``POST /v1/events/batch`` in
  batches of 1,000 (each batch rescoring its contacts before it answers).

Then both stores must hold the same number of contacts, events and scores, and the
import's store is swept: 300 s later (what is due by then), and with every score due;
``--sweep-in both`` (default) does it with the pages scored in the database
(``sweep_in_database``: PostgreSQL; the "in db" column counts the scores that took
that path, 0 where it fell back to Python) and then in Python, one after the other.
``--store sqlite`` uses temporary files; ``--store postgresql`` a throwaway server
(Debian's ``postgresql`` binaries, on loopback). Bounded: the API path sends each row
once and stops.

    python benchmarks/service_scale.py --contacts 1000 --events-per-contact 20 \
        --store sqlite [--no-api] [--format parquet|csv] [--sweep-in database|python|both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
MODEL = (ROOT / "examples" / "b2b_saas.yaml").read_text()
API_BATCH = 1000


def generate(tmp: Path, contacts: int, per_contact: float, fmt: str) -> tuple[Path, Path, Any]:
    from leadscore.data.generate import simulate, write

    data = simulate(contacts, 7, events_per_contact=per_contact)
    data = replace(data, contacts=unique_emails(data.contacts))
    contacts_path, events_path = write(data, tmp / "data", fmt=fmt)[:2]
    return contacts_path, events_path, data


def unique_emails(contacts: Any) -> Any:
    """The generator gives two people of a company the same address now and then; the
    store keeps an e-mail on one contact (both paths refuse a second): later ones blank."""
    seen: set[str] = set()
    emails = []
    for email in contacts.column("email").to_pylist():
        key = (email or "").strip().lower()
        emails.append(None if key and key in seen else email)
        seen.add(key)
    index = contacts.schema.get_field_index("email")
    return contacts.set_column(index, "email", pa.array(emails, pa.string()))


def publish(url: str) -> None:
    from leadscore.service import Service, load_settings, versions

    svc = Service(load_settings({"database": url}, env={}))
    try:
        draft = versions.create_draft(svc, MODEL, {}, "benchmark")
        versions.publish(svc, draft["name"], draft["version"], "benchmark", fire_triggers=False)
    finally:
        svc.store.dispose()


def counts(url: str) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from leadscore.store import Store
    from leadscore.store import tables as T

    store = Store(url)
    try:
        with store.read() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (T.contacts, T.events, T.scores)
            )
    finally:
        store.dispose()


def via_import(url: str, contacts: Path, events: Path) -> dict[str, float]:
    from leadscore.service import Service, load_settings
    from leadscore.service.importing import import_files

    publish(url)
    svc = Service(load_settings({"database": url}, env={}))
    try:
        t0 = time.perf_counter()
        report = import_files(svc, contacts, events)
        wall = time.perf_counter() - t0
    finally:
        svc.store.dispose()
    return {
        "rows": report.rows,
        "load_rate": report.rate,
        "load_s": report.load_seconds,
        "score_s": report.score_seconds,
        "wall_s": wall,
        "rate_with_scoring": report.rows / wall,
    }


def sweeps(url: str, modes: list[str], batch: int) -> dict[str, Any]:
    """The time sweep on the imported store: the steady one (300 s after the import,
    the default interval: only the scores whose next change has come) and the worst
    one (every score due, as on the first sweep after an upgrade), once per mode:
    ``database`` scores each page with one query in the store (PostgreSQL; on SQLite
    it falls back to Python, and the count in the database says so), ``python`` reads
    every event into the in-process evaluator. ``batch``: scores per page."""
    from datetime import timedelta

    import sqlalchemy as sa

    from leadscore.service import Service, load_settings
    from leadscore.service.core import utcnow
    from leadscore.store import tables as T

    out: dict[str, Any] = {}
    at = utcnow() + timedelta(seconds=300)
    for mode in modes:
        settings = {"database": url, "sweep_interval": 0, "sweep_in_database": mode == "database"}
        svc = Service(load_settings(settings, env={}))
        try:
            t0 = time.perf_counter()
            steady = svc.sweep(now=at, batch=batch)
            steady_s = time.perf_counter() - t0
            with svc.store.write() as conn:
                conn.execute(sa.update(T.scores).values(next_change=T.scores.c.scored_at))
            at = at + timedelta(seconds=300)
            t0 = time.perf_counter()
            full = svc.sweep(now=at, batch=batch)
            full_s = time.perf_counter() - t0
            at = at + timedelta(seconds=300)
            out[mode] = {
                "steady": steady,
                "steady_s": steady_s,
                "full": full,
                "full_s": full_s,
                "in_database": svc.swept_in_database,
            }
        finally:
            svc.store.dispose()
    return out


def _text(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value


def via_api(url: str, data: Any) -> dict[str, float]:
    from service import start_server  # benchmarks/service.py

    publish(url)
    proc, base, token = start_server(url)
    try:
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600
        )
        people = data.contacts.to_pylist()
        events = data.events.to_pylist()
        t0 = time.perf_counter()
        for start in range(0, len(people), API_BATCH):
            body = [
                {
                    "id": c["id"],
                    "email": (c.get("email") or "").strip() or None,
                    "properties": {
                        k: str(_text(v))
                        for k, v in c.items()
                        if k not in ("id", "email") and v is not None and v != ""
                    },
                }
                for c in people[start : start + API_BATCH]
            ]
            client.post("/v1/contacts/batch", json={"contacts": body}).raise_for_status()
        for start in range(0, len(events), API_BATCH):
            body = [
                {
                    "contact_id": e["contact_id"],
                    "type": e["type"],
                    "ts": _text(e["ts"]),
                    "idempotency_key": e.get("event_id"),
                    "attributes": {
                        k: str(v)
                        for k, v in e.items()
                        if k not in ("contact_id", "type", "ts", "event_id") and v is not None
                    },
                }
                for e in events[start : start + API_BATCH]
            ]
            client.post("/v1/events/batch", json={"events": body}).raise_for_status()
        wall = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    rows = len(people) + len(events)
    return {"rows": rows, "wall_s": wall, "rate_with_scoring": rows / wall}


def stores(kind: str, tmp: Path):
    """Two fresh store URLs (import, API) and a function that stops what was started."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'import.db'}", f"sqlite:///{tmp / 'api.db'}", lambda: None
    import psycopg
    from tests.postgres_server import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="leadscore-scale-pg-"))
    server = PostgresServer(root)
    if not server.available:
        raise SystemExit("--store postgresql needs the PostgreSQL server binaries (initdb)")
    server.start()
    urls = []
    with psycopg.connect(server.url, autocommit=True) as conn:
        for what in ("import", "api"):
            name = f"scale_{what}_{uuid.uuid4().hex[:6]}"
            conn.execute(f'CREATE DATABASE "{name}"')
            urls.append(server.url.rsplit("/", 1)[0] + "/" + name)

    def stop() -> None:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

    return urls[0], urls[1], stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=1000, help="contacts to generate and load")
    ap.add_argument(
        "--events-per-contact", type=float, default=20.0, help="average events per contact"
    )
    ap.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format")
    ap.add_argument("--no-api", action="store_true", help="only the import path")
    ap.add_argument("--no-sweep", action="store_true", help="no time sweep after the import")
    ap.add_argument(
        "--sweep-in",
        choices=["database", "python", "both"],
        default="both",
        help="where the sweep scores its pages (both: one after the other, same store)",
    )
    ap.add_argument("--sweep-batch", type=int, default=500, help="scores per page of the sweep")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        contacts, events, data = generate(tmp, args.contacts, args.events_per_contact, args.format)
        import_url, api_url, stop = stores(args.store, tmp)
        try:
            imp = via_import(import_url, contacts, events)
            imp_counts = counts(import_url)
            modes = ["database", "python"] if args.sweep_in == "both" else [args.sweep_in]
            swept = None if args.no_sweep else sweeps(import_url, modes, args.sweep_batch)
            api = api_counts = None
            if not args.no_api:
                api = via_api(api_url, data)
                api_counts = counts(api_url)
        finally:
            stop()
    print(
        f"cores: {os.cpu_count()}  store: {args.store}  {data.contacts.num_rows:,} contacts, "
        f"{data.events.num_rows:,} events ({args.format}), model examples/b2b_saas.yaml"
    )
    print("| path | rows | load rows/s | load s | scoring s | rows/s loaded and scored |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| leadscore import | {imp['rows']:,.0f} | {imp['load_rate']:,.0f} | {imp['load_s']:.2f} "
        f"| {imp['score_s']:.2f} | {imp['rate_with_scoring']:,.0f} |"
    )
    if api is not None:
        ratio = api["rate_with_scoring"] / imp["rate_with_scoring"]
        print(
            f"| API batch endpoints | {api['rows']:,.0f} | | | | {api['rate_with_scoring']:,.0f} "
            f"({ratio:.2f}x the import) |"
        )
    if swept is not None:
        print(f"time sweep (pages of {args.sweep_batch} scores):")
        print("| scored in | due 300 s after | s | every score due | s | contacts/s | in db |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for mode, r in swept.items():
            rate = r["full"] / max(r["full_s"], 1e-9)
            print(
                f"| {mode} | {r['steady']:,.0f} | {r['steady_s']:.2f} | {r['full']:,.0f} "
                f"| {r['full_s']:.2f} | {rate:,.0f} | {r['in_database']:,.0f} |"
            )
    print(f"stored (contacts, events, scores): import {imp_counts}", end="")
    print(f", API {api_counts}" if api_counts is not None else "")
    if api_counts is not None and api_counts != imp_counts:
        raise SystemExit("the two paths stored different numbers of rows")


if __name__ == "__main__":
    main()
