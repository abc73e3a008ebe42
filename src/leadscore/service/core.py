"""The service's operations on the store, independent of HTTP.

Routes call these; tests and the demo seeder may call them directly. Every
write happens in one transaction together with the rescoring it causes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..enrich import Enricher
from ..store import Store
from ..store import tables as T
from ..store.links import link_columns
from .accounts import account_aware, links, stale_links
from .enrichment import ServiceEnrichment
from .predicted import models_root
from .problems import ApiProblem
from .published import ModelCache, Published
from .rescoring import rescore
from .scoring import Adjusted, lock_contacts, scoring_time
from .settings import Settings
from .sweep_sql import SetScorer, SetScorers
from .vocabulary import StoreVocabulary
from .writes import Writing

Q_KNOWN_KEYS = sa.select(T.events.c.idempotency_key).where(
    T.events.c.idempotency_key.in_(sa.bindparam("keys", expanding=True))
)
Q_KNOWN_CONTACTS = sa.select(T.contacts.c.id).where(
    T.contacts.c.id.in_(sa.bindparam("ids", expanding=True))
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def audit(
    conn: sa.Connection,
    actor: str,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    conn.execute(
        sa.insert(T.audit_log).values(
            at=at or utcnow(), actor=actor, action=action, target=target, detail=detail or {}
        )
    )


def _insert(conn: sa.Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def check_adjustment(points: float, limit: float) -> None:
    """Refuse a manual adjustment of 0 points or beyond ``limit`` either way (the
    ``max_adjustment_points`` setting), as a 422 naming the field and the bound."""
    message = None
    if points == 0:
        message = "0 points changes nothing: give points such as 10 or -5"
    elif abs(points) > limit:
        message = (
            f"points must be between {-limit:g} and {limit:g}, got {points:g}; the "
            "max_adjustment_points setting sets the bound"
        )
    if message is not None:
        raise ApiProblem(
            422,
            f"body.points: {message}",
            kind="validation",
            errors=[{"location": "body.points", "message": message, "type": "adjustment_bounds"}],
        )


class Service:
    """A store, its published models and the background workers."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        enrichers: Sequence[Enricher] = (),
    ):
        self.settings = settings
        self.store = store or Store(settings.database, migrate=settings.migrate_on_start)
        self.models = ModelCache(models_root(settings.models_root, settings.database))
        self.enrichment = ServiceEnrichment(settings, enrichers)
        # the names stored contacts and events hold, for the model checks
        self.vocabulary = StoreVocabulary(self.store, settings)
        self.on_outbox: list[Any] = []  # callbacks run after a commit that wrote outbox rows
        self.on_erase: list[Any] = []  # callbacks(Erased) run after an erase committed
        self.set_scorers = SetScorers()  # the sweep's scoring in the database, per model
        self.swept_in_database = 0  # scores the sweep computed in the database (a count)

    # ----------------------------------------------------------------- helpers
    def published(self, conn: sa.Connection) -> list[Published]:
        return self.models.published(conn)

    def _rescore(
        self,
        conn,
        ids,
        cause,
        as_of: datetime | None,
        *,
        fire=True,
        detail=None,
        models: Sequence[Published] | None = None,
        accounts: Sequence[str] = (),
        changed_accounts: Sequence[str] = (),
    ) -> dict[str, dict[str, Adjusted]]:
        pubs = self.published(conn) if models is None else models
        return rescore(
            conn,
            ids,
            pubs,
            cause=cause,
            as_of=as_of,
            hysteresis=self.settings.trigger_hysteresis,
            fire=fire,
            detail=detail,
            accounts=accounts,
            changed_accounts=changed_accounts,
        )

    def notify_outbox(self) -> None:
        for callback in self.on_outbox:
            callback()

    # ----------------------------------------------------------------- contacts
    def upsert_contacts(self, items: Sequence[Any], actor: str) -> list[dict[str, Any]]:
        now = utcnow()

        # Rows are written in id order (then e-mail), so concurrent batches touching
        # the same contacts take their row locks in the same order: no deadlock.
        order = sorted(range(len(items)), key=lambda i: (items[i].id or "", items[i].email or ""))

        def work(conn: sa.Connection) -> tuple[list[dict[str, Any]], dict]:
            results: list[dict[str, Any]] = [{} for _ in items]
            ids = []
            before: dict[str, str | None] = {}
            for i in order:
                cid, created, old_account = self._upsert_one(conn, items[i], now)
                ids.append(cid)
                before.setdefault(cid, old_account)
                results[i] = {"id": cid, "created": created}
            left = stale_links(conn, before, ids)  # accounts some of them moved away from
            scored = self._rescore(conn, ids, "contact", None, accounts=sorted(left))
            audit(conn, actor, "contacts.upsert", None, {"count": len(items)}, at=now)
            return results, scored

        results, scored = self.store.transaction(work)
        self.notify_outbox()
        later = self.enrichment.run_outside(self, [r["id"] for r in results], now)
        for cid, by_model in later.items():
            scored.setdefault(cid, {}).update(by_model)
        for r in results:
            r["scores"] = {m: _brief(a) for m, a in scored.get(r["id"], {}).items()}
        return results

    def _upsert_one(
        self, conn: sa.Connection, item: Any, now: datetime
    ) -> tuple[str, bool, str | None]:
        """Write one contact; its id, whether it is new, and its account before."""
        c = T.contacts.c
        email = item.email.strip().lower() if item.email else None
        row = None
        if item.id is not None:
            row = conn.execute(sa.select(T.contacts).where(c.id == item.id)).first()
        elif email is not None:
            row = conn.execute(sa.select(T.contacts).where(c.email == email)).first()
        else:
            raise ApiProblem(
                422,
                "a contact needs an 'id' or an 'email' to be found or created",
                kind="validation",
            )
        if email is not None:
            other = conn.execute(sa.select(c.id).where(c.email == email)).scalar()
            if other is not None and (row is None or other != row.id):
                raise ApiProblem(
                    409,
                    f"the e-mail {email!r} already belongs to contact {other!r};"
                    " update that contact or use another address",
                    kind="conflict",
                )
        if row is None:
            props = {k: v for k, v in item.properties.items() if v is not None}
            if email:
                props["email"] = email
            props = self.enrichment.offline(props, changed=list(props))
            cid = item.id or "c_" + uuid.uuid4().hex[:16]
            conn.execute(
                sa.insert(T.contacts).values(
                    id=cid,
                    email=email,
                    properties=props,
                    created_at=now,
                    updated_at=now,
                    **link_columns(props, email),
                )
            )
            return cid, True, None
        props = {} if item.replace else dict(row.properties or {})
        for k, v in item.properties.items():
            if v is None:
                props.pop(k, None)
            else:
                props[k] = v
        email = email or row.email
        if email:
            props["email"] = email
        old = row.properties or {}
        changed = [k for k in item.properties if old.get(k) != item.properties[k]]
        if email != row.email:
            changed.append("email")
        if changed or item.replace:
            props = self.enrichment.offline(props, changed=changed if not item.replace else props)
        old_account = links(conn, [row])[row.id]
        conn.execute(
            sa.update(T.contacts)
            .where(c.id == row.id)
            .values(email=email, properties=props, updated_at=now, **link_columns(props, email))
        )
        return row.id, False, old_account

    def delete_contact(self, contact_id: str, actor: str, *, erase: bool) -> None:
        """Delete a contact and what is keyed by it; ``erase`` (GDPR) also removes every
        mention of it elsewhere in the store and in the parts outside it (see
        ``service/erase.py``)."""
        from .erase import Erased, visitors_of

        now = utcnow()
        with self.store.write() as conn:
            row = conn.execute(
                sa.select(T.contacts.c.id).where(T.contacts.c.id == contact_id)
            ).first()
            if row is None:
                raise ApiProblem(404, f"no contact {contact_id!r}")
            full = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == contact_id)).one()
            account = links(conn, [full])[contact_id]
            visitors = visitors_of(conn, contact_id) if erase else ()
            erased = Erased(contact_id, full.email, dict(full.properties or {}), visitors)
            counts = {}
            for table in (
                T.events,
                T.scores,
                T.score_history,
                T.adjustments,
                T.trigger_state,
                T.contact_stages,
                T.enrich_pending,
                T.contacts,
            ):
                col = table.c.id if table is T.contacts else table.c.contact_id
                counts[table.name] = conn.execute(
                    sa.delete(table).where(col == contact_id)
                ).rowcount
            rollup = T.account_rollup_entries
            conn.execute(sa.delete(rollup).where(rollup.c.contact_id == contact_id))
            if account is not None:  # one contact fewer in its account's roll-ups
                self._rescore(conn, [], "contact", None, accounts=[account])
            if erase:
                counts.update(self._erase_mentions(conn, erased))
                audit(conn, actor, "contact.erase", "erased", {"removed": counts}, at=now)
            else:
                audit(conn, actor, "contact.delete", contact_id, {"removed": counts}, at=now)
        self.notify_outbox()
        if erase:
            self.enrichment.forget(erased.properties)
            for forget in self.on_erase:
                forget(erased)

    def _erase_mentions(self, conn: sa.Connection, erased: Any) -> dict[str, int]:
        """Deliveries carry the contact's e-mail and scores: gone. Earlier audit entries
        about the contact keep only who did what when; every other mention of the id or
        the e-mail left in the store is rewritten (``erase.scrub_store``)."""
        from .erase import ERASED, scrub_store

        cid = erased.contact_id
        counts = {
            "deliveries": conn.execute(
                sa.delete(T.deliveries).where(T.deliveries.c.contact_id == cid)
            ).rowcount
        }
        conn.execute(
            sa.update(T.audit_log)
            .where(T.audit_log.c.target == cid)
            .values(target=ERASED, detail={})
        )
        for name, n in scrub_store(conn, cid, erased.email).items():
            counts[f"mentions.{name}"] = n
        return counts

    # ----------------------------------------------------------------- accounts
    def upsert_accounts(self, items: Sequence[Any], actor: str) -> list[dict[str, Any]]:
        """Write accounts and rescore them (and the contacts that read them) at once."""
        from . import account_ops

        now = utcnow()
        order = sorted(range(len(items)), key=lambda i: items[i].id)

        def work(conn: sa.Connection) -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = [{} for _ in items]
            left: set[str] = set()
            for i in order:
                created, lost = account_ops.upsert_account(conn, items[i], now)
                left |= lost
                results[i] = {"id": items[i].id, "created": created}
            ids = sorted({it.id for it in items})
            self._rescore(conn, sorted(left), "account", None, changed_accounts=ids)
            audit(conn, actor, "accounts.upsert", None, {"count": len(items)}, at=now)
            briefs = account_briefs(conn, ids)
            for r in results:
                r["scores"] = briefs.get(r["id"], {})
            return results

        results = self.store.transaction(work)
        self.notify_outbox()
        return results

    def delete_account(self, account_id: str, actor: str) -> None:
        """Delete an account; its contacts are rescored without it."""
        from . import account_ops

        now = utcnow()
        with self.store.write() as conn:
            members, counts = account_ops.delete_account(conn, account_id)
            self._rescore(conn, members, "account", None)
            audit(conn, actor, "account.delete", account_id, {"removed": counts}, at=now)
        self.notify_outbox()

    # ----------------------------------------------------------------- events
    def ingest(self, items: Sequence[Any], actor: str) -> list[dict[str, Any]]:
        """Store events (a retried idempotency key counts once) and rescore their contacts."""
        if len(items) > self.settings.max_batch:
            raise ApiProblem(
                413,
                f"{len(items)} events in one batch; at most "
                f"{self.settings.max_batch} (setting max_batch)",
            )
        received = utcnow()
        times = [self._event_time(it.ts, i, received) for i, it in enumerate(items)]

        def work(conn: sa.Connection) -> tuple[list[dict[str, Any]], dict]:
            results: list[dict[str, Any]] = []
            ids = self._resolve_contacts(conn, items, received)
            # Lock the contacts before reading anything of theirs, then read the clock: every
            # event committed for them lies at or before ``now`` (see scoring_time).
            lock_contacts(conn, ids)
            now = scoring_time(conn, ids)
            keys = [it.idempotency_key for it in items if it.idempotency_key]
            seen: set[str] = set()
            if keys:
                seen = set(conn.execute(Q_KNOWN_KEYS, {"keys": keys}).scalars())
            rows = []
            for it, cid, ts in zip(items, ids, times, strict=True):
                key = it.idempotency_key
                if key is not None and key in seen:
                    results.append(
                        {"contact_id": cid, "idempotency_key": key, "status": "duplicate"}
                    )
                    continue
                if key is not None:
                    seen.add(key)
                rows.append(
                    {
                        "contact_id": cid,
                        "type": it.type,
                        # No time, or a time ahead of the service's clock: it happened now.
                        "ts": now if ts is None or ts > now else ts,
                        "idempotency_key": key,
                        "attributes": it.attributes,
                        "received_at": now,
                    }
                )
                results.append({"contact_id": cid, "idempotency_key": key, "status": "accepted"})
            if rows:
                insert = _insert(conn)
                conn.execute(
                    insert(T.events).on_conflict_do_nothing(index_elements=["idempotency_key"]),
                    rows,
                )
                touched = sorted({r["contact_id"] for r in rows})
                scored = self._rescore(conn, touched, "event", now, detail={"events": len(rows)})
            else:
                scored = {}
            return results, scored

        results, scored = self.store.transaction(work)
        self.notify_outbox()
        for r in results:
            r["scores"] = {m: _brief(a) for m, a in scored.get(r["contact_id"], {}).items()}
        return results

    def _event_time(self, ts: datetime | None, index: int, received: datetime) -> datetime | None:
        """An event's time in UTC; refused when it lies further ahead of the service's clock
        than ``max_clock_skew`` allows (a time in milliseconds read as seconds, a wrong
        year). A time ahead by less is taken as the moment the event is stored."""
        if ts is None:
            return None
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        ahead = (ts - received).total_seconds()
        limit = self.settings.max_clock_skew
        if ahead > limit:
            raise ApiProblem(
                422,
                f"events[{index}].ts: {ts.isoformat()} is {ahead:,.0f} s ahead of the service's"
                f" clock ({received.isoformat(timespec='seconds')}); at most {limit:g} s is"
                " taken as clock skew (setting max_clock_skew). Send the time the event"
                " happened, in UTC or with its offset, or leave ts out to mean now",
                kind="validation",
            )
        return ts

    def _resolve_contacts(self, conn, items, now) -> list[str]:
        c = T.contacts.c
        emails = sorted(
            {it.email.strip().lower() for it in items if it.contact_id is None and it.email}
        )
        by_email = {}
        if emails:
            by_email = dict(conn.execute(sa.select(c.email, c.id).where(c.email.in_(emails))).all())
        ids: list[str] = []
        for i, it in enumerate(items):
            if it.contact_id is not None:
                ids.append(it.contact_id)
            elif it.email:
                email = it.email.strip().lower()
                if email not in by_email:
                    by_email[email] = "c_" + uuid.uuid4().hex[:16]
                ids.append(by_email[email])
            else:
                raise ApiProblem(
                    422, f"events[{i}]: an event needs 'contact_id' or 'email'", kind="validation"
                )
        wanted = sorted(set(ids))
        known = set(conn.execute(Q_KNOWN_CONTACTS, {"ids": wanted}).scalars())
        missing = [cid for cid in wanted if cid not in known]
        if missing and self.settings.unknown_contacts == "refuse":
            raise ApiProblem(
                422,
                f"unknown contact{'s' if len(missing) > 1 else ''}: "
                f"{', '.join(missing[:10])}; create them first (PUT /v1/contacts/ID) or run the "
                "service with unknown_contacts=create",
                kind="unknown-contact",
                contacts=missing,
            )
        if missing:
            email_of = {v: k for k, v in by_email.items()}
            insert = _insert(conn)
            conn.execute(
                insert(T.contacts).on_conflict_do_nothing(),
                [
                    {
                        "id": cid,
                        "email": email_of.get(cid),
                        "properties": self.enrichment.offline(
                            {"email": email_of[cid]}, changed=["email"]
                        )
                        if cid in email_of
                        else {},
                        "created_at": now,
                        "updated_at": now,
                        **link_columns({}, email_of.get(cid)),
                    }
                    for cid in missing
                ],
            )
            new_emails = sorted(e for e, cid in by_email.items() if cid in set(missing))
            if new_emails:
                # A concurrent request may have created the same e-mail's contact first:
                # use the id that is stored, not the one made up here.
                stored = dict(
                    conn.execute(sa.select(c.email, c.id).where(c.email.in_(new_emails))).all()
                )
                made_up = {by_email[e]: stored[e] for e in new_emails if e in stored}
                ids = [made_up.get(cid, cid) for cid in ids]
        return ids

    # ----------------------------------------------------------------- adjustments
    def adjust(self, contact_id: str, body: Any, actor: str) -> dict[str, Any]:
        check_adjustment(float(body.points), float(self.settings.max_adjustment_points))
        now = utcnow()
        with self.store.write() as conn:
            self._require_contact(conn, contact_id)
            pubs = self.published(conn)
            if body.model is not None and body.model not in {p.name for p in pubs}:
                raise ApiProblem(
                    404,
                    f"no published model {body.model!r}; published: "
                    + (", ".join(p.name for p in pubs) or "none"),
                )
            author = body.author or actor
            adj_id = conn.execute(
                sa.insert(T.adjustments)
                .values(
                    contact_id=contact_id,
                    model_name=body.model,
                    points=body.points,
                    reason=body.reason,
                    author=author,
                    created_at=now,
                )
                .returning(T.adjustments.c.id)
            ).scalar_one()
            scored = self._rescore(
                conn,
                [contact_id],
                "adjustment",
                None,
                detail={
                    "adjustment": {"points": body.points, "reason": body.reason, "author": author}
                },
            )
            audit(
                conn,
                actor,
                "contact.adjust",
                contact_id,
                {"points": body.points, "reason": body.reason, "model": body.model},
                at=now,
            )
        self.notify_outbox()
        return {
            "id": adj_id,
            "scores": {m: _brief(a) for m, a in scored.get(contact_id, {}).items()},
        }

    def _require_contact(self, conn: sa.Connection, contact_id: str) -> Any:
        row = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == contact_id)).first()
        if row is None:
            raise ApiProblem(404, f"no contact {contact_id!r}")
        return row

    # ----------------------------------------------------------------- time
    def sweep(self, *, now: datetime | None = None, batch: int = 500) -> int:
        """Rescore the contacts whose score can have changed with time; returns how many
        (a contact due under two models, on two pages of the sweep, counts twice).

        Decay, windows and inactivity change scores without new events; the
        sweep makes the stored scores (and triggers) catch up, under the
        published models that read time. Each stored score carries the first
        instant it may show something else by time alone (``next_change``, see
        ``service/horizons.py``): the sweep rescores the contacts whose instant has
        come, and only them, a page at a time in the order of that instant (an
        index), each page in its own transaction. Models that score or read
        accounts still rescore every account and every contact with events. Each
        page is scored as of its own live time (read once its contacts are locked),
        so a page never writes a score older than one an event has just stored.
        With ``sweep_in_database`` (PostgreSQL), a page is scored under a model the SQL
        compiler can express by one query in the database, under the same locks and
        live time, and written by the same code (``service/sweep_sql.py``); any other
        model is scored in Python.
        ``now`` stands in for the clock (a replay, or a test's clock): every page is
        scored as of it, and what is due (enrichment retries, held triggers, scores)
        is due by it.
        """
        as_of = now  # None: each page's live time
        at = now or utcnow()
        self.enrichment.retry_due(self, at, batch)
        with self.store.read() as conn:
            published = self.published(conn)
        timed = [p for p in published if _time_dependent(p)]
        pubs = [p for p in timed if not account_aware(p)]
        done = sum(self._sweep_accounts(p, as_of, batch) for p in timed if account_aware(p))
        by_name = {p.name: p for p in pubs}
        in_db = self._set_scorers(pubs)
        for page in self._due_ids(sorted(by_name), at, batch):
            everyone = sorted({cid for ids in page.values() for cid in ids})
            with self.store.write() as conn:
                lock_contacts(conn, everyone)  # all of the page's locks first, in id order
                for name, ids in sorted(page.items()):  # each under the models it is due in
                    scorer = in_db.get(name)
                    if scorer is None:
                        self._rescore(conn, ids, "time", as_of, models=[by_name[name]])
                        continue
                    when = scoring_time(conn, ids) if as_of is None else as_of
                    options = Writing("time", when, self.settings.trigger_hysteresis)
                    self.swept_in_database += scorer.rescore(conn, ids, options)
            done += len(everyone)
        done += self._sweep_holds(published, as_of, batch)
        self.notify_outbox()
        return done

    def _set_scorers(self, pubs: Sequence[Published]) -> dict[str, SetScorer]:
        """The models whose sweep pages are scored in the database (``sweep_in_database``
        and a model the compiler can express there: see ``service/sweep_sql.py``)."""
        if not self.settings.sweep_in_database:
            return {}
        database = self.store.engine.dialect.name
        found = {p.name: self.set_scorers.get(p, database) for p in pubs}
        return {name: s for name, s in found.items() if s is not None}

    def _due_ids(self, names: Sequence[str], at: datetime, batch: int):
        """The scores under one of ``names`` due by ``at`` (``next_change <= at``), as
        contact ids by model name, ``batch`` scores at a time in the order of the index
        on (next_change, contact_id), each page read in a transaction of its own.
        A rescored score's next instant lies after the time it was scored as of, so
        it is not met again in this sweep; the key moves on regardless."""
        if not names:
            return
        s = T.scores.c
        key: tuple[datetime, str] | None = None
        while True:
            q = sa.select(s.next_change, s.contact_id, s.model_name).where(
                s.next_change <= at, s.model_name.in_(list(names))
            )
            if key is not None:  # a row comparison: the index's range starts at the key
                after = sa.tuple_(sa.literal(key[0], T.TS), sa.literal(key[1], sa.String))
                q = q.where(sa.tuple_(s.next_change, s.contact_id) > after)
            with self.store.read() as conn:
                rows = conn.execute(q.order_by(s.next_change, s.contact_id).limit(batch)).all()
            if not rows:
                return
            key = (rows[-1].next_change, rows[-1].contact_id)
            page: dict[str, list[str]] = {}
            for r in rows:
                page.setdefault(r.model_name, []).append(r.contact_id)
            yield {name: sorted(set(ids)) for name, ids in page.items()}

    def _ids_with_events(self, batch: int):
        """The ids of the contacts that have events, ``batch`` at a time, each page read
        in a transaction of its own (keyset paging on the id)."""
        has_events = sa.exists().where(T.events.c.contact_id == T.contacts.c.id)
        last = ""
        while True:
            with self.store.read() as conn:
                ids = list(
                    conn.execute(
                        sa.select(T.contacts.c.id)
                        .where(T.contacts.c.id > last, has_events)
                        .order_by(T.contacts.c.id)
                        .limit(batch)
                    ).scalars()
                )
            if not ids:
                return
            yield ids
            last = ids[-1]

    def _sweep_accounts(self, pub: Published, as_of: datetime | None, batch: int) -> int:
        """A time sweep of an account-aware model: every account with all its contacts, a
        page per transaction, then the contacts with events and no account."""
        from .accounts import FullRescore
        from .writes import Writing

        full = FullRescore(pub, Writing("time", as_of, self.settings.trigger_hysteresis))
        after: str | None = ""
        while after is not None:
            with self.store.write() as conn:
                _, _, after = full.accounts_page(conn, after)
        for ids in self._ids_with_events(batch):
            with self.store.write() as conn:
                full.contacts_page(conn, ids)
        return full.contacts_done

    def _sweep_holds(self, pubs: Sequence[Published], as_of: datetime | None, batch: int) -> int:
        """Rescore the contacts whose ``holds`` trigger period ran out (their scores do
        not change with time, so the main pass leaves them alone)."""
        from .triggers import due_holds

        done = 0
        for pub in pubs:
            with self.store.read() as conn:
                ids = due_holds(conn, pub, as_of or utcnow())
                accounts = due_holds(conn, pub, as_of or utcnow(), "account")
            for start in range(0, len(ids), batch):
                with self.store.write() as conn:
                    self._rescore(conn, ids[start : start + batch], "time", as_of, models=[pub])
            for start in range(0, len(accounts), batch):
                with self.store.write() as conn:
                    chunk = accounts[start : start + batch]
                    self._rescore(conn, [], "time", as_of, models=[pub], accounts=chunk)
            done += len(ids) + len(accounts)
        return done


def _time_dependent(pub: Published) -> bool:
    from ..model.schema import EventRule, FrequencyRule, InactivityRule

    if pub.model.predicted is not None:  # the trained model reads event recency
        return True
    for gname, rule in pub.model.rules():
        if isinstance(rule, InactivityRule | FrequencyRule) and (
            getattr(rule, "within", None) is not None or isinstance(rule, InactivityRule)
        ):
            return True
        if isinstance(rule, EventRule) and (
            rule.within is not None or pub.model.effective_decay(gname, rule).kind != "none"
        ):
            return True
    return any(x.within is not None for x in pub.model.exclusions)


def account_briefs(conn: sa.Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each account's current scores in brief, by model."""
    out: dict[str, dict[str, Any]] = {}
    S = T.account_scores.c
    for r in conn.execute(sa.select(T.account_scores).where(S.account_id.in_(list(ids)))):
        out.setdefault(r.account_id, {})[r.model_name] = {
            "total": r.total,
            "grade": r.grade,
            "stage": r.stage,
            "excluded": r.excluded,
            "contacts": r.contacts,
        }
    return out


def _brief(a: Adjusted) -> dict[str, Any]:
    return {
        "total": a.total,
        "grade": a.result.grade,
        "stage": a.stage,
        "excluded": a.result.excluded,
    }
