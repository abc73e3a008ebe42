"""Accounts in the service: the stored companies, their contacts, and the rescoring
that keeps contact and account scores true together.

A contact belongs to an account as :mod:`leadscore.engine.linking` says: its
``account_id`` property, else its e-mail domain (the ``account_ref`` and
``email_domain`` columns of the contacts table). Under a model that scores
accounts or reads them (``account_aware``), :func:`cascade` rescores, in the
caller's transaction:

1. the contacts asked for, each reading its account's stored scores (what every
   other member was last scored with), or for an account whose properties just
   changed, the scores recomputed from its members' stored scores;
2. every account concerned, rolling up its members: the fresh results of step 1,
   the stored scores of the others;
3. the members whose account-reading rules decide otherwise with the new account
   scores (:func:`~leadscore.engine.accounts.account_outcomes`), once more;

then writes every result once: scores, history and triggers see final values
only. By induction every stored member score is its score under its account's
stored scores, which is why step 1 may read them. Publishing a version (and the
sweep) uses :class:`FullRescore` instead: accounts a page at a time, as the
in-process reference does (provisional scores, members, accounts, members again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..engine.accounts import (
    AccountResult,
    Member,
    account_fields,
    account_outcomes,
    member_entries,
    score_account,
    score_account_from,
)
from ..model.accounts import ACCOUNT, rollup_groups, rollup_properties
from ..store import tables as T
from . import rollups, stages
from .published import Published
from .scoring import (
    CHUNK,
    Q_CONTACTS,
    Adjusted,
    compute,
    contact_record,
    lock_contacts,
    score_one,
    scoring_time,
    with_account,
)
from .writes import Writing, write_account_scores, write_scores

A, C, S = T.accounts.c, T.contacts.c, T.account_scores.c
PAGE = 200  # accounts rescored together when publishing


def account_aware(pub: Published) -> bool:
    """Whether the model scores accounts or its contact rules read them."""
    return pub.model.account is not None or pub.model.account_use.reads_account


def account_record(row: Any) -> dict[str, Any]:
    """An account as rules read it: ``id``, ``domain`` and its properties."""
    return {**(row.properties or {}), "id": row.id, "domain": row.domain}


@dataclass(frozen=True)
class StoredAccount:
    """An account's stored scores, as a contact reads them."""

    groups: dict[str, float]
    total: float
    grade: str | None
    stage: str | None
    excluded: bool


def stored_view(row: Any) -> StoredAccount:
    return StoredAccount(row.groups or {}, row.total, row.grade, row.stage, row.excluded)


def member_scores(adj: Adjusted) -> dict[str, Any]:
    """A scored contact's values as roll-ups read them (adjustments included)."""
    res = adj.result
    return {
        "groups": res.groups,
        "total": adj.total,
        "grade": res.grade,
        "stage": adj.stage,
        "excluded": res.excluded,
    }


# ----------------------------------------------------------------------------- links


def load_accounts(conn: sa.Connection, ids: Iterable[str], *, lock: bool = False) -> dict[str, Any]:
    """Account rows by id; locked on PostgreSQL (in id order) when ``lock``."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    q = sa.select(T.accounts).where(A.id.in_(wanted)).order_by(A.id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return {r.id: r for r in conn.execute(q)}


def links(conn: sa.Connection, contacts: Iterable[Any]) -> dict[str, str | None]:
    """Each contact row's account id (None: no account)."""
    rows = list(contacts)
    refs = sorted({c.account_ref for c in rows if c.account_ref})
    domains = sorted({c.email_domain for c in rows if not c.account_ref and c.email_domain})
    known: set[str] = set()
    if refs:
        known = set(conn.execute(sa.select(A.id).where(A.id.in_(refs))).scalars())
    by_domain: dict[str, str] = {}
    if domains:
        by_domain = dict(conn.execute(sa.select(A.domain, A.id).where(A.domain.in_(domains))).all())
    return {
        c.id: (c.account_ref if c.account_ref in known else None)
        if c.account_ref
        else by_domain.get(c.email_domain)
        for c in rows
    }


def members_of(conn: sa.Connection, accounts: Iterable[Any]) -> dict[str, list[str]]:
    """Each account's contact ids, in id order."""
    rows = list(accounts)
    out: dict[str, list[str]] = {a.id: [] for a in rows}
    if not rows:
        return out
    for cid, ref in conn.execute(
        sa.select(C.id, C.account_ref).where(C.account_ref.in_(sorted(out)))
    ):
        out[ref].append(cid)
    domains = {a.domain: a.id for a in rows if a.domain}
    if domains:
        for cid, domain in conn.execute(
            sa.select(C.id, C.email_domain).where(
                C.account_ref.is_(None), C.email_domain.in_(sorted(domains))
            )
        ):
            out[domains[domain]].append(cid)
    return {aid: sorted(ids) for aid, ids in out.items()}


def account_of_members(members: dict[str, list[str]]) -> dict[str, str]:
    return {cid: aid for aid, ids in members.items() for cid in ids}


def contact_rows(conn: sa.Connection, ids: Iterable[str]) -> dict[str, Any]:
    wanted = sorted(set(ids))
    out: dict[str, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        for r in conn.execute(Q_CONTACTS, {"ids": wanted[start : start + CHUNK]}):
            out[r.id] = r
    return out


_SC = T.scores.c


@dataclass(frozen=True)
class StoredMember:
    """What roll-ups read of a contact's stored score under one model."""

    version: int
    groups: dict[str, float]
    total: float
    grade: str | None
    stage: str | None
    excluded: bool


def stored_scores(
    conn: sa.Connection, model: str, ids: Iterable[str], groups: Iterable[str] = ()
) -> dict[str, StoredMember]:
    """The contacts' stored scores under one model, by contact id: the fixed columns and
    only the ``groups`` named (read out of the JSON by the database, not in Python)."""
    wanted, names = sorted(set(ids)), sorted(set(groups))
    cols = [_SC.contact_id, _SC.version, _SC.total, _SC.grade, _SC.stage, _SC.excluded]
    cols += [_SC.groups[g].as_float().label(f"g{i}") for i, g in enumerate(names)]
    query = sa.select(*cols).where(
        _SC.model_name == model, _SC.contact_id.in_(sa.bindparam("ids", expanding=True))
    )
    out: dict[str, StoredMember] = {}
    for start in range(0, len(wanted), CHUNK):
        for r in conn.execute(query, {"ids": wanted[start : start + CHUNK]}):
            values = {g: r[6 + i] for i, g in enumerate(names) if r[6 + i] is not None}
            out[r.contact_id] = StoredMember(
                r.version, values, r.total, r.grade, r.stage, r.excluded
            )
    return out


# ----------------------------------------------------------------------------- the cascade


def cascade(
    conn: sa.Connection,
    contact_ids: Sequence[str],
    pubs: Sequence[Published],
    options: Writing,
    accounts: Iterable[str] = (),
    changed: Iterable[str] = (),
) -> dict[str, dict[str, Adjusted]]:
    """Rescore contacts and their accounts under account-aware models (see the module
    docstring); ``accounts`` gained or lost contacts, ``changed`` ones changed properties."""
    touched = set(contact_ids)
    changed = set(changed)
    link = links(conn, contact_rows(conn, touched).values())
    lost = set(accounts)
    wanted = lost | changed | {a for a in link.values() if a}
    rows = load_accounts(conn, wanted, lock=True)
    # an account whose roll-ups still hold a contact that links elsewhere now lost it
    names = [p.name for p in pubs if p.model.account is not None]
    held = rollups.entries_of(conn, names, touched)
    left = {aid for (_, cid), by in held.items() for aid in by if link.get(cid) != aid}
    if left - set(rows):
        rows.update(load_accounts(conn, left - set(rows), lock=True))
    lost |= left
    members: dict[str, list[str]] = {}  # read as needed, shared by the models
    out: dict[str, dict[str, Adjusted]] = {}
    for pub in pubs:
        run = AccountPass(conn, pub, options, rows, members)
        for cid, adj in run.rescore(touched, link, changed & set(rows), lost, held).items():
            out.setdefault(cid, {})[pub.name] = adj
    return out


#: What a contact reads of its account: a fresh result, the stored scores, or nothing
#: (the model does not score accounts).
AccountView = AccountResult | StoredAccount | None


class AccountPass:
    """One model's pass over a set of accounts and their members: the steps of the
    cascade (:meth:`rescore`), which :class:`FullRescore` also runs one by one.
    ``members`` may lack accounts: they are read when needed (:meth:`of`)."""

    def __init__(
        self,
        conn: sa.Connection,
        pub: Published,
        options: Writing,
        rows: dict[str, Any],
        members: dict[str, list[str]],
    ):
        self.conn, self.pub, self.options = conn, pub, options
        self.model = pub.model
        self.rows, self.members = rows, members
        self.records = {aid: account_record(r) for aid, r in rows.items()}
        self.scored = self.model.account is not None
        self.reads = self.model.account_use.reads_account
        # the roll-ups read these contact properties (else only scores): loaded if any
        self.member_props = bool(rollup_properties(self.model) - {"predicted"})
        use = self.model.account_use
        self.read = {ACCOUNT + f for f in use.property_fields | use.score_fields}
        self._rows: dict[str, Any] = {}

    def of(self, aid: str) -> list[str]:
        """An account's contact ids, in id order."""
        self.load_members([aid])
        return self.members[aid]

    def load_members(self, aids: Iterable[str]) -> None:
        missing = sorted(a for a in set(aids) if a not in self.members and a in self.rows)
        if missing:
            self.members.update(members_of(self.conn, [self.rows[a] for a in missing]))

    def contact(self, cid: str, contacts: dict[str, Any]) -> dict[str, Any]:
        """A member's record: its row if loaded already, else read once when needed."""
        row = contacts.get(cid) or self._rows.get(cid)
        if row is None:
            self._rows.update(contact_rows(self.conn, [cid]))
            row = self._rows.get(cid)
        return contact_record(row) if row is not None else {"id": cid}

    def member(self, cid: str, scores: dict[str, Any], contacts: dict[str, Any]) -> Member:
        record = self.contact(cid, contacts) if self.member_props else {"id": cid}
        return Member.of(record, scores)

    def rescore(
        self,
        touched: set[str],
        link: dict,
        changed: set[str],
        lost: Set[str] = frozenset(),
        held: dict[tuple[str, str], dict[str, rollups.Entries]] | None = None,
    ) -> dict[str, Adjusted]:
        """The cascade for one model. An account with figures under this version, the
        same properties and no contact lost is updated from the touched contacts alone
        (:mod:`leadscore.service.rollups`); any other is rolled up from all its members
        and its figures rebuilt. ``held``: the touched contacts' stored entries, read
        once the accounts were locked (else read here)."""
        pub, as_of = self.pub, self.options.as_of
        stored_acc = {}
        states: dict[str, rollups.State] = {}
        if self.scored and self.rows:
            stored_acc = {
                r.account_id: r
                for r in self.conn.execute(
                    sa.select(T.account_scores).where(
                        S.model_name == pub.name, S.account_id.in_(sorted(self.rows))
                    )
                )
            }
            states = rollups.load_states(self.conn, pub.name, self.rows)
        quick = {
            aid
            for aid in self.rows
            if self.scored
            and aid not in changed
            and aid not in lost
            and aid in states
            and states[aid].version == pub.version
            and aid in stored_acc
            and stored_acc[aid].version == pub.version
        }
        full = sorted(a for a in self.rows if a not in quick)
        need = set(full) if self.scored else (changed if self.reads else set())
        self.load_members(need)
        everyone = sorted({c for aid in need for c in self.members[aid]})
        stored = (
            stored_scores(self.conn, pub.name, everyone, rollup_groups(self.model))
            if self.scored and everyone
            else {}
        )
        stored = {c: r for c, r in stored.items() if r.version == pub.version}
        if self.scored and self.member_props and everyone:  # one query for all, not one each
            self._rows.update(contact_rows(self.conn, everyone))
        owner = {**account_of_members({a: self.members[a] for a in need}), **link}
        # 1. what each account's contacts read now
        views: dict[str, Any] = {}
        for aid in self.rows:
            old = stored_acc.get(aid)
            if not self.scored:
                views[aid] = None
            elif aid in quick:
                views[aid] = stored_view(old)
            elif aid in changed or old is None or old.version != pub.version:
                mems = [
                    self.member(c, _stored(stored[c]), {}) for c in self.members[aid] if c in stored
                ]
                views[aid] = score_account(self.model, self.records[aid], mems, as_of=as_of)
            else:
                views[aid] = stored_view(old)
        redo = set(touched)
        if self.reads:
            redo |= {c for aid in changed for c in self.members.get(aid, [])}
        if self.scored:
            redo |= {c for c in everyone if c not in stored}  # not scored under this version
        contacts, results = self.score_members(sorted(redo), owner, views)
        # 2. the accounts, from their members, or from their figures and the touched ones
        final: dict[str, AccountResult] = {}
        entries: dict[str, dict[str, rollups.Entries]] = {}
        if self.scored:
            for aid in full:
                mems = []
                for cid in self.members[aid]:
                    if cid in results:
                        mems.append(self.member(cid, member_scores(results[cid]), contacts))
                    elif cid in stored:
                        mems.append(self.member(cid, _stored(stored[cid]), contacts))
                final[aid] = score_account(self.model, self.records[aid], mems, as_of=as_of)
                entries[aid] = {m.contact_id: member_entries(self.model, m) for m in mems}
            mine = sorted(c for c in touched if link.get(c) in quick and c in results)
            if held is None:
                held = rollups.entries_of(self.conn, [pub.name], mine)
            for aid in sorted(quick):
                new = {
                    c: member_entries(
                        self.model, self.member(c, member_scores(results[c]), contacts)
                    )
                    for c in mine
                    if link[c] == aid
                }
                old = {c: held.get((pub.name, c), {}).get(aid, {}) for c in new}
                rollups.update(self.conn, pub.name, aid, states[aid], old, new)
                figs, n = rollups.figures(self.conn, self.model, aid, states[aid])
                final[aid] = score_account_from(self.model, self.records[aid], figs, n, as_of=as_of)
        # 3. the members whose account-reading rules decide otherwise now
        if self.reads and self.scored:
            again = self.moved_members(views, final, contacts)
            if again:
                loaded = {a: ids for a, ids in self.members.items() if a in self.rows}
                owner = {**account_of_members(loaded), **link}
                more_contacts, more = self.score_members(sorted(again), owner, final)
                contacts.update(more_contacts)
                results.update(more)
        write_scores(
            self.conn, contacts, {c: {pub.name: a} for c, a in results.items()}, self.options
        )
        for aid in sorted(entries):
            rollups.rebuild(self.conn, pub.name, pub.version, aid, entries[aid], states.get(aid))
        if final:
            write_account_scores(self.conn, pub, final, self.rows, stored_acc, self.options)
        return results

    def score_members(
        self,
        ids: list[str],
        owner: Mapping[str, str | None],
        views: Mapping[str, AccountView],
        dry: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Adjusted]]:
        """Score these contacts (nothing written), each reading ``views`` of the account
        ``owner`` gives it: their rows and their results. ``dry`` takes no locks and reads
        only the inputs up to the pass's time (a preview)."""
        fields: dict[tuple[str, str], dict[str, Any]] = {}
        for cid in ids:
            aid = owner.get(cid)
            view = views.get(aid) if aid is not None else None
            fields[(self.pub.name, cid)] = (
                account_fields(self.records[aid], view) if aid in self.records else {}
            )
        contacts: dict[str, Any] = {}
        results: dict[str, Adjusted] = {}
        for start in range(0, len(ids), CHUNK):
            rows, scored = compute(
                self.conn,
                ids[start : start + CHUNK],
                [self.pub],
                self.options.as_of,
                fields,
                lock=not dry,
                cut_inputs=dry,
            )
            contacts.update(rows)
            results.update({c: by_model[self.pub.name] for c, by_model in scored.items()})
        return contacts, results

    def moved_members(
        self,
        views: Mapping[str, AccountView],
        final: Mapping[str, AccountResult],
        contacts: dict[str, Any],
    ) -> set[str]:
        """Members whose account-reading rules decide otherwise with the ``final`` account
        scores than with the ``views`` they were scored with."""
        out: set[str] = set()
        for aid, result in final.items():
            before = account_fields(self.records[aid], views[aid])
            after = account_fields(self.records[aid], result)
            if all(before.get(f) == after.get(f) for f in self.read):
                continue  # what the contacts read of the account did not move
            missing = [c for c in self.of(aid) if c not in contacts and c not in self._rows]
            self._rows.update(contact_rows(self.conn, missing))
            for cid in self.of(aid):
                record = self.contact(cid, contacts)
                old = account_outcomes(self.model, with_account(record, before))
                if old != account_outcomes(self.model, with_account(record, after)):
                    out.add(cid)
        return out


def _stored(row: StoredMember) -> dict[str, Any]:
    return {
        "groups": row.groups,
        "total": row.total,
        "grade": row.grade,
        "stage": row.stage,
        "excluded": row.excluded,
    }


# ----------------------------------------------------------------------------- everything


class FullRescore:
    """Every account and contact under one model, a page at a time, as the reference
    evaluator scores a population: accounts (with all their members) first, then the
    contacts with no account. ``dry`` computes without writing (for previews)."""

    def __init__(self, pub: Published, options: Writing, *, dry: bool = False):
        self.pub, self.options, self.dry = pub, options, dry
        self.model = pub.model
        self.scored = self.model.account is not None
        self.contacts_done = 0

    def accounts_page(self, conn: sa.Connection, after: str, size: int = PAGE):
        """Rescore the next accounts after id ``after``; the contact results and the
        account results, and the last account id (None when there were none)."""
        rows = {
            r.id: r
            for r in conn.execute(
                sa.select(T.accounts).where(A.id > after).order_by(A.id).limit(size)
            )
        }
        if not rows:
            return {}, {}, None
        results, final = self.score_accounts(conn, rows)
        return results, final, max(rows)

    def score_accounts(self, conn: sa.Connection, rows: dict[str, Any]):
        """These accounts and all their members: provisional account scores, members,
        accounts, the members reading account scores again; written unless ``dry``."""
        members = members_of(conn, rows.values())
        records = {aid: account_record(r) for aid, r in rows.items()}
        options = self._page(conn, sorted({c for ids in members.values() for c in ids}))
        as_of = options.as_of
        provisional = {
            aid: score_account(self.model, records[aid], (), as_of=as_of) if self.scored else None
            for aid in rows
        }
        run = AccountPass(conn, self.pub, options, rows, members)
        owner = account_of_members(members)
        contacts, results = run.score_members(sorted(owner), owner, provisional, self.dry)
        final: dict[str, AccountResult] = {}
        entries: dict[str, dict[str, rollups.Entries]] = {}
        if self.scored:
            for aid in rows:
                mems = [
                    run.member(c, member_scores(results[c]), contacts)
                    for c in members[aid]
                    if c in results
                ]
                final[aid] = score_account(self.model, records[aid], mems, as_of=as_of)
                entries[aid] = {m.contact_id: member_entries(self.model, m) for m in mems}
            if self.model.account_use.reads_account:
                again = run.moved_members(provisional, final, contacts)
                if again:
                    more_contacts, more = run.score_members(sorted(again), owner, final, self.dry)
                    contacts.update(more_contacts)
                    results.update(more)
        if not self.dry:
            write_scores(
                conn, contacts, {c: {self.pub.name: a} for c, a in results.items()}, options
            )
            if final:
                current = {
                    r.account_id: r
                    for r in conn.execute(
                        sa.select(T.account_scores).where(
                            S.model_name == self.pub.name, S.account_id.in_(sorted(rows))
                        )
                    )
                }
                states = rollups.load_states(conn, self.pub.name, rows)
                for aid in sorted(entries):
                    rollups.rebuild(
                        conn, self.pub.name, self.pub.version, aid, entries[aid], states.get(aid)
                    )
                write_account_scores(conn, self.pub, final, rows, current, options)
        self.contacts_done += len(results)
        return results, final

    def contacts_page(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, Adjusted]:
        """Rescore those of ``ids`` that belong to no account."""
        rows = contact_rows(conn, ids)
        alone = sorted(cid for cid, aid in links(conn, rows.values()).items() if aid is None)
        if not alone:
            return {}
        fields = {(self.pub.name, cid): {} for cid in alone}
        options = self._page(conn, alone)
        contacts, scored = compute(
            conn,
            alone,
            [self.pub],
            options.as_of,
            fields,
            lock=not self.dry,
            cut_inputs=self.dry,
        )
        if not self.dry:
            write_scores(conn, contacts, scored, options)
        self.contacts_done += len(scored)
        return {c: by_model[self.pub.name] for c, by_model in scored.items()}

    def _page(self, conn: sa.Connection, ids: Sequence[str]) -> Writing:
        """How this page writes: at the time asked, or, for a live rescoring (``as_of`` None),
        at the time read once the page's contacts are locked (see ``scoring_time``)."""
        if self.options.as_of is not None:
            return self.options
        if not self.dry:
            lock_contacts(conn, ids)
        return replace(self.options, as_of=scoring_time(conn, ids))

    def run(self, conn: sa.Connection, contact_pages: Iterable[Sequence[str]]):
        """Everything, in one transaction: yields each page's (contacts, accounts)."""
        after = ""
        while True:
            results, final, last = self.accounts_page(conn, after)
            if last is None:
                break
            yield results, final
            after = last
        for ids in contact_pages:
            yield self.contacts_page(conn, ids), {}


def stale_links(conn: sa.Connection, before: dict[str, str | None], ids: Iterable[str]) -> set[str]:
    """Accounts that lost a contact: its account before a write, when it changed."""
    after = links(conn, contact_rows(conn, ids).values())
    return {old for cid, old in before.items() if old is not None and after.get(cid) != old}


def score_in_memory(
    conn: sa.Connection, pub: Published, contact_ids: Sequence[str], as_of: datetime
) -> tuple[dict[str, Adjusted], dict[str, AccountResult]]:
    """Contacts' scores under ``pub`` as of ``as_of``, their accounts scored with all their
    members in memory (nothing written): for previews and past scores."""
    full = FullRescore(pub, Writing("preview", as_of), dry=True)
    rows = contact_rows(conn, contact_ids)
    owner = links(conn, rows.values())
    accounts = load_accounts(conn, {a for a in owner.values() if a})
    results, final = full.score_accounts(conn, accounts) if accounts else ({}, {})
    alone = [c for c in contact_ids if c in rows and owner.get(c) is None]
    for start in range(0, len(alone), CHUNK):
        results.update(full.contacts_page(conn, alone[start : start + CHUNK]))
    return {c: results[c] for c in contact_ids if c in results}, final


def score_contact_at(
    conn: sa.Connection,
    pub: Published,
    contact_id: str,
    inputs: tuple[dict, dict, dict],
    as_of: datetime,
) -> Adjusted:
    """One stored contact under ``pub`` as of ``as_of`` (nothing written), from its
    ``load_inputs`` (contacts, events, adjustments): with its account scored in memory
    under ``pub`` when the model scores or reads accounts."""
    if account_aware(pub):
        return score_in_memory(conn, pub, [contact_id], as_of)[0][contact_id]
    contacts, events, adjustments = inputs
    return score_one(
        pub,
        contacts[contact_id],
        events.get(contact_id, []),
        adjustments.get(contact_id, []),
        as_of,
        stage=stages.recorded_by(conn, [contact_id], pub.name, as_of).get(contact_id),
    )
