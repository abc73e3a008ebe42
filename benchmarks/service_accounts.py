"""Service benchmark for accounts: what account scoring adds to one event.

An event on a contact of an account rescores the contact, then the account (a
roll-up over all its contacts' stored scores), then any contact whose
account-reading rules move. This measures, in one run on the same store kind, the
time the service takes to accept one event (the answer carries the new scores):

* under a model that scores contacts only (the baseline);
* under the same model with an ``account:`` section and contact rules reading the
  account (``account.grade``, ``account.stage``),

for accounts of several sizes, with the ratio. Each event goes to a contact of the
one big account; the median of ``--events`` events per size is printed. Under the
model with accounts, the same store also holds contacts of no account (free-mail
addresses): the median of as many events on them is the per-event cost an account
adds nothing to, and the last column divides the member's cost by it (the account's
roll-ups are updated from the one contact's change, so it should not grow with size).

    python benchmarks/service_accounts.py                  # SQLite
    python benchmarks/service_accounts.py --postgres URL   # a PostgreSQL database
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

CONTACTS_MODEL = """\
name: abm
groups:
  fit:
    rules:
      - {name: Target country, when: {country: FR}, points: 10}
      - {name: Decision maker, when: {seniority: c_level}, points: 5}
  engagement:
    rules:
      - {name: Visits, on: {type: page_view}, points: 10}
thresholds: [{stage: MQL, when: {total: {gte: 50}}}]
"""
ACCOUNT_PART = """\
      - {name: A account, when: {account.grade: A}, points: 10}
      - {name: MQA account, when: {account.stage: MQA}, points: 5}
account:
  groups:
    fit: {rules: [{name: Software, when: {industry: Software}, points: 20}]}
    team:
      rules:
        - {name: Team, rollup: sum, of: engagement, max_points: 40}
        - {name: Top three, rollup: top, top: 3, of: engagement}
        - {name: Engaged, rollup: count, where: {engagement: {gte: 20}}, points: 2, max_points: 10}
  grades: {fit: {A: 20}}
  thresholds: [{stage: MQA, when: {total: {gte: 95}}}]
"""


def with_accounts() -> str:
    head, tail = CONTACTS_MODEL.split("  engagement:\n", 1)
    part, section = ACCOUNT_PART.split("account:\n", 1)
    return head + part + "  engagement:\n" + tail + "account:\n" + section


def store(url: str | None, folder: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{folder / (name + '.db')}"
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


LONERS = 20  # contacts of no account, beside the big account's


def one_size(url: str, contacts: int, model: str, events: int) -> tuple[float, float]:
    """Median milliseconds per accepted event on a contact of one account of this size,
    and on a contact of no account in the same store."""
    from leadscore.service import Service, load_settings, versions
    from leadscore.service.schemas import AccountIn, ContactIn, EventIn

    settings = load_settings({"database": url, "sweep_interval": 0, "outbox_poll_interval": 0})
    svc = Service(settings)
    svc.upsert_accounts(
        [AccountIn(id="big", domain="big.example", properties={"industry": "Software"})], "bench"
    )
    for start in range(0, contacts, 500):
        batch = [
            ContactIn(id=f"c{i:06d}", email=f"p{i}@big.example", properties={"country": "FR"})
            for i in range(start, min(contacts, start + 500))
        ]
        svc.upsert_contacts(batch, "bench")
    loners = [ContactIn(id=f"n{i:03d}", email=f"n{i}@gmail.com") for i in range(LONERS)]
    svc.upsert_contacts(loners, "bench")
    draft = versions.create_draft(svc, model, {}, "bench")
    versions.publish(svc, draft["name"], draft["version"], "bench", fire_triggers=False)
    member, alone = [], []
    for k in range(events):
        for times, cid in (
            (member, f"c{(k * 37) % contacts:06d}"),
            (alone, f"n{k % LONERS:03d}"),
        ):
            event = EventIn(contact_id=cid, type="page_view")
            started = time.perf_counter()
            svc.ingest([event], "bench")
            times.append(time.perf_counter() - started)
    svc.store.dispose()
    return statistics.median(member) * 1000, statistics.median(alone) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,200,1000,5000", help="contacts in the account")
    ap.add_argument("--events", type=int, default=40, help="events per size (median)")
    ap.add_argument("--postgres", default=None, help="a PostgreSQL server URL (default SQLite)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadscore-bench-accounts-"))
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"one event on a contact of an account; median of {args.events} events; {kind}\n")
    print(
        "| contacts in the account | contacts only (ms) | with account scoring (ms) | ratio "
        "| with accounts, a contact of no account (ms) | member / no account |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in [int(s) for s in args.sizes.split(",") if s]:
        plain, _ = one_size(
            store(args.postgres, folder, f"plain{size}"), size, CONTACTS_MODEL, args.events
        )
        acc, alone = one_size(
            store(args.postgres, folder, f"acc{size}"), size, with_accounts(), args.events
        )
        print(
            f"| {size:,} | {plain:.1f} | {acc:.1f} | {acc / plain:.1f}× | {alone:.1f} "
            f"| {acc / alone:.1f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
