"""Account scores, in process: the reference meaning of a model's ``account:`` section.

:func:`score_account` scores one account from its properties and its contacts'
scores (each contact a :class:`Member`); :func:`score_population` scores every
contact and every account of a population in the order the section's meaning
needs, and is what the SQL engines are checked against:

1. each account's *provisional* scores: from its properties alone, roll-ups at 0;
2. every contact, reading its account's properties and provisional scores
   (``account.<field>``);
3. every account, rolling up its contacts' scores from step 2;
4. the contacts whose rules read account scores, again, with the final ones.

Validation guarantees that the contact scores a roll-up reads do not depend on
rolled-up account scores, so step 3 sees their final values, and that contact
rules reading account scores before step 4 see only what does not roll up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..model.accounts import ACCOUNT, AccountScoring, RollupRule, rule_fields
from ..model.schema import CompletenessRule, PropertyRule, ScoringModel
from . import spine
from . import values as V
from .conditions import evaluate
from .inprocess import score_contact, static_hit
from .linking import AccountIndex
from .result import Event, RuleHit, ScoreResult


class Contribution(BaseModel):
    """What one contact gave one roll-up rule."""

    model_config = ConfigDict(frozen=True)

    contact_id: str
    points: float
    detail: str | None = None


class AccountRuleHit(RuleHit):
    """A rule's effect on an account; roll-ups name the contacts behind the points."""

    contributions: tuple[Contribution, ...] = ()


class AccountResult(BaseModel):
    """An account's score under one model, as of one time."""

    model_config = ConfigDict(frozen=True)

    model: str
    account_id: str
    as_of: datetime
    groups: dict[str, float]
    total: float
    grade: str | None
    stage: str | None
    excluded: bool
    exclusion_reasons: tuple[str, ...] = ()
    rules_fired: int
    contacts: int  # linked contacts, excluded ones included
    breakdown: tuple[AccountRuleHit, ...]

    def fired(self) -> list[AccountRuleHit]:
        return [h for h in self.breakdown if h.fired]

    def row(self) -> dict[str, Any]:
        """A flat row for tables and files: one column per account group."""
        out: dict[str, Any] = {"account_id": self.account_id, "model": self.model}
        out.update(self.groups)
        out.update(
            total=self.total,
            grade=self.grade,
            stage=self.stage,
            excluded=self.excluded,
            exclusion_reason="; ".join(self.exclusion_reasons) or None,
            rules_fired=self.rules_fired,
            contacts=self.contacts,
        )
        return out

    def contributions(self) -> dict[str, float]:
        """Points each contact gave the roll-ups (before group caps and weights)."""
        out: dict[str, float] = {}
        for hit in self.breakdown:
            for c in hit.contributions:
                out[c.contact_id] = out.get(c.contact_id, 0.0) + c.points
        return out


@dataclass(frozen=True)
class Member:
    """One contact as its account's roll-ups read it: its properties and its scores
    under the model (the scores win where a property has a score's name)."""

    contact_id: str
    record: Mapping[str, Any]
    excluded: bool

    @classmethod
    def of(cls, contact: Mapping[str, Any], scores: ScoreResult | Mapping[str, Any]) -> Member:
        """From a contact's properties and its score (a result or a stored score row:
        ``groups``, ``total``, ``grade``, ``stage``, ``excluded``)."""
        if isinstance(scores, ScoreResult):
            s = {**scores.groups, "total": scores.total, "grade": scores.grade}
            s |= {"stage": scores.stage, "excluded": scores.excluded}
        else:
            s = {**(scores.get("groups") or {})}
            s |= {k: scores.get(k) for k in ("total", "grade", "stage", "excluded")}
        cid = contact.get("id", contact.get("contact_id"))
        return cls(str(cid), {**contact, **s}, bool(s["excluded"]))


def account_fields(
    account: Mapping[str, Any], result: AccountResult | None = None
) -> dict[str, Any]:
    """What a contact reads of its account: ``account.<property>``, and with a result
    ``account.total``, ``account.<group>``, ``account.grade``, ``.stage``, ``.excluded``."""
    out = {ACCOUNT + k: v for k, v in account.items() if not V.is_missing(v)}
    out[ACCOUNT + "id"] = str(account["id"])
    if result is not None:
        out.update({ACCOUNT + g: v for g, v in result.groups.items()})
        out[ACCOUNT + "total"] = result.total
        out[ACCOUNT + "grade"] = result.grade
        out[ACCOUNT + "stage"] = result.stage
        out[ACCOUNT + "excluded"] = result.excluded
    return out


def _section(model: ScoringModel) -> AccountScoring:
    if model.account is None:
        from ..errors import UsageError

        raise UsageError(f"model {model.name!r} has no 'account:' section: it scores no accounts")
    return model.account


def score_account(
    model: ScoringModel,
    account: Mapping[str, Any],
    members: Iterable[Member] = (),
    *,
    as_of: datetime | str | None = None,
) -> AccountResult:
    """Score one account (``id``, ``domain`` and properties) from its contacts."""
    people = sorted(members, key=lambda m: m.contact_id)
    return _score(model, account, lambda g, r, _: rollup_hit(g, r, people), len(people), as_of)


def score_account_from(
    model: ScoringModel,
    account: Mapping[str, Any],
    figures: Sequence[RollupFigures],
    contacts: int,
    *,
    as_of: datetime | str | None = None,
) -> AccountResult:
    """Score one account from the figures of its roll-ups (one per rule of
    ``AccountScoring.rollups()``, in order) and its number of contacts: the same result
    as :func:`score_account` over the members, but the sum, count and roles roll-ups
    name no contacts (:func:`rollup_contributions` names them from the members)."""
    return _score(model, account, lambda g, r, i: hit_from(g, r, figures[i]), contacts, as_of)


def _score(
    model: ScoringModel,
    account: Mapping[str, Any],
    rollup: Callable[[str, RollupRule, int], AccountRuleHit],
    contacts: int,
    as_of: datetime | str | None,
) -> AccountResult:
    acc = _section(model)
    when = datetime.now(UTC) if as_of is None else V.timestamp(as_of)
    breakdown: list[AccountRuleHit] = []
    groups: dict[str, float] = {}
    index = 0
    for gname, group in acc.groups.items():
        hits: list[AccountRuleHit] = []
        for rule in group.rules:
            if isinstance(rule, RollupRule):
                hits.append(rollup(gname, rule, index))
                index += 1
            else:
                hit = static_hit(gname, rule, account)
                hits.append(AccountRuleHit(**hit.model_dump()))
        breakdown += hits
        groups[gname] = spine.group_score(group, [h.points for h in hits])
    reasons = tuple(x.name for x in acc.exclusions if evaluate(x.when, account))
    spined = spine.outcome(acc, groups, excluded=bool(reasons))
    return AccountResult(
        model=model.name,
        account_id=str(account["id"]),
        as_of=when,
        groups=groups,
        total=spined.total,
        grade=spined.grade,
        stage=spined.stage,
        excluded=bool(reasons),
        exclusion_reasons=reasons,
        rules_fired=sum(1 for h in breakdown if h.fired),
        contacts=contacts,
        breakdown=tuple(breakdown),
    )


def _value(member: Member, score: str) -> float:
    return V.number(member.record.get(score)) or 0.0


def _cap(value: float, cap: float | None) -> tuple[float, bool]:
    if cap is not None and abs(value) > cap:
        return (cap if value > 0 else -cap), True
    return value, False


@dataclass(frozen=True)
class RollupFigures:
    """All a roll-up's points depend on: how many contacts it counts, the sum of their
    score (correctly rounded, so in any order the same), the best ones for ``max`` and
    ``top`` (value descending, then id), and for ``roles`` the roles someone holds."""

    counted: int
    total: float = 0.0
    chosen: tuple[tuple[str, float], ...] = ()
    roles: tuple[str, ...] = ()


def counts(rule: RollupRule, member: Member) -> bool:
    """Whether the roll-up counts this contact."""
    return (rule.include_excluded or not member.excluded) and (
        rule.where is None or evaluate(rule.where, member.record)
    )


def member_entries(model: ScoringModel, member: Member) -> dict[str, float]:
    """What one contact gives its account's roll-ups, by key: ``*`` (a member), ``<i>``
    (the i-th roll-up counts it, with the score it rolls up) and ``<i>/<role>`` (it holds
    that role). Figures are sums and best values over these entries."""
    out: dict[str, float] = {"*": 0.0}
    acc = model.account
    if acc is None:
        return out
    for i, (_, rule) in enumerate(acc.rollups()):
        if not counts(rule, member):
            continue
        if rule.rollup == "roles":
            for role, cond in (rule.roles or {}).items():
                if evaluate(cond, member.record):
                    out[f"{i}/{role}"] = 0.0
        else:
            out[str(i)] = _value(member, rule.of) if rule.of is not None else 0.0
    return out


def best(values: Iterable[tuple[str, float]], size: int) -> tuple[tuple[str, float], ...]:
    """The ``size`` highest values, ties by contact id."""
    return tuple(sorted(values, key=lambda cv: (-cv[1], cv[0]))[:size])


def rollup_hit(gname: str, rule: RollupRule, people: Sequence[Member]) -> AccountRuleHit:
    """One roll-up over an account's contacts (sorted by id), naming its contributors."""
    counted = [m for m in people if counts(rule, m)]
    values = [(m.contact_id, _value(m, rule.of) if rule.of else 0.0) for m in counted]
    holders = {
        role: [m.contact_id for m in counted if evaluate(cond, m.record)]
        for role, cond in (rule.roles or {}).items()
    }
    if rule.rollup == "roles":
        figures = RollupFigures(len(counted), roles=tuple(r for r, who in holders.items() if who))
    elif rule.rollup in ("max", "top"):
        figures = RollupFigures(len(counted), chosen=best(values, rule.top or 1))
    else:
        figures = RollupFigures(len(counted), total=math.fsum(v for _, v in values))
    hit = hit_from(gname, rule, figures)
    more = rollup_contributions(rule, hit, values, holders)
    return hit.model_copy(update={"contributions": more}) if more else hit


def hit_from(gname: str, rule: RollupRule, f: RollupFigures) -> AccountRuleHit:
    """A roll-up's effect from its figures; only ``max`` and ``top`` name contributors."""
    n = f.counted
    agg = rule.rollup
    if agg == "roles":
        points = rule.points
        assert points is not None, "validated: a roles roll-up gives points"
        fired = len(f.roles) >= rule.roles_needed
        pts = points if fired else 0.0
        detail = f"{len(f.roles)} of {len(rule.roles or {})} roles, needs {rule.roles_needed}"
        if f.roles:
            detail += ": " + ", ".join(f.roles)
        return AccountRuleHit(
            group=gname,
            rule=rule.name,
            kind="rollup",
            matched=len(f.roles),
            fired=fired,
            points_raw=pts,
            points_decayed=pts,
            points=pts,
            detail=detail,
        )
    if agg == "count":
        points = rule.points
        assert points is not None, "validated: a count roll-up gives points"
        if rule.at_least is not None:
            fired = n >= rule.at_least
            pts = points if fired else 0.0
            return AccountRuleHit(
                group=gname,
                rule=rule.name,
                kind="rollup",
                matched=n,
                fired=fired,
                points_raw=pts,
                points_decayed=pts,
                points=pts,
                detail=f"{n} contact(s), needs {rule.at_least}",
            )
        raw = points * n
        pts, capped = _cap(raw, rule.max_points)
        return AccountRuleHit(
            group=gname,
            rule=rule.name,
            kind="rollup",
            matched=n,
            fired=n > 0,
            points_raw=raw,
            points_decayed=raw,
            points=pts,
            capped=capped,
            detail=f"{n} contact(s)",
        )
    assert rule.of is not None, "validated: a sum, max or top roll-up reads a score"
    chosen = f.chosen
    if agg == "sum":
        raw = f.total
        detail = f"sum of {rule.of} over {n} contact(s)"
    elif agg == "max":
        raw = chosen[0][1] if chosen else 0.0
        detail = f"highest {rule.of} of {n} contact(s)"
    else:
        size = rule.top or 1
        raw = sum(v for _, v in chosen) / size
        detail = f"mean {rule.of} of the top {size} of {n} contact(s)"
    pts, capped = _cap(raw, rule.max_points)
    ratio = pts / raw if capped else 1.0
    scale = (1.0 / (rule.top or 1)) if agg == "top" else 1.0
    return AccountRuleHit(
        group=gname,
        rule=rule.name,
        kind="rollup",
        matched=n,
        fired=n > 0,
        points_raw=raw,
        points_decayed=raw,
        points=pts if n else 0.0,
        capped=capped,
        detail=detail,
        contributions=tuple(
            Contribution(contact_id=cid, points=v * scale * ratio, detail=f"{rule.of} {v:g}")
            for cid, v in chosen
        ),
    )


def rollup_contributions(
    rule: RollupRule,
    hit: AccountRuleHit,
    counted: Sequence[tuple[str, float]],
    holders: Mapping[str, Sequence[str]],
) -> tuple[Contribution, ...]:
    """What each contact gave a ``sum``, ``count`` or ``roles`` roll-up (``max`` and
    ``top`` name theirs in the hit): from the hit and the counted contacts (id, value)
    in id order, or for roles each role's holders in id order."""
    agg = rule.rollup
    if agg == "roles":
        if not hit.fired:
            return ()
        covered = [role for role in rule.roles or {} if holders.get(role)]
        people = sorted({cid for role in covered for cid in holders[role]})
        return tuple(
            Contribution(
                contact_id=cid,
                points=hit.points / len(people),
                detail=", ".join(r for r in covered if cid in holders[r]),
            )
            for cid in people
        )
    if agg == "count":
        if rule.at_least is not None:
            if not hit.fired:
                return ()
            share = hit.points / len(counted)
            return tuple(Contribution(contact_id=cid, points=share) for cid, _ in counted)
        assert rule.points is not None, "validated: a count roll-up gives points"
        raw = hit.points_raw
        each = rule.points * (hit.points / raw if raw else 0.0)
        return tuple(Contribution(contact_id=cid, points=each) for cid, _ in counted)
    if agg == "sum":
        ratio = hit.points / hit.points_raw if hit.capped else 1.0
        return tuple(
            Contribution(contact_id=cid, points=v * 1.0 * ratio, detail=f"{rule.of} {v:g}")
            for cid, v in counted
        )
    return ()


# ----------------------------------------------------------------------------- populations


@dataclass
class Population:
    """Every contact's and every account's score under one model."""

    contacts: list[ScoreResult]
    accounts: list[AccountResult]
    links: dict[str, str | None] = field(default_factory=dict)  # contact id → account id


def score_population(
    model: ScoringModel,
    contacts: Iterable[tuple[Mapping[str, Any], Sequence[Event | Mapping[str, Any]]]],
    accounts: Iterable[Mapping[str, Any]] | AccountIndex,
    *,
    as_of: datetime | str | None = None,
) -> Population:
    """Score contacts (each with its events) and accounts together, as the SQL engines do.

    Accounts are mappings with ``id``, an optional ``domain`` and properties; contacts
    link to them as :mod:`leadscore.engine.linking` says. Contacts come back in the
    order given, accounts in id order.
    """
    when = datetime.now(UTC) if as_of is None else V.timestamp(as_of)
    index = accounts if isinstance(accounts, AccountIndex) else AccountIndex(accounts)
    use = model.account_use
    people = list(contacts)
    links = {str(c.get("id", c.get("contact_id"))): index.link(c) for c, _ in people}
    ids = sorted(index.by_id)
    scored = model.account is not None
    provisional = {
        aid: score_account(model, index.by_id[aid], (), as_of=when) if scored else None
        for aid in ids
    }

    def fields(cid: str, results: Mapping[str, AccountResult | None]) -> dict[str, Any]:
        aid = links[cid]
        return {} if aid is None else account_fields(index.by_id[aid], results[aid])

    def score_all(results: Mapping[str, AccountResult | None]) -> list[ScoreResult]:
        out = []
        for contact, events in people:
            cid = str(contact.get("id", contact.get("contact_id")))
            own = {k: v for k, v in contact.items() if not k.startswith(ACCOUNT)}
            record = {**own, **fields(cid, results)}  # account.* comes from the account
            out.append(score_contact(model, record, events, as_of=when))
        return out

    first = score_all(provisional)
    if not scored:
        return Population(first, [], links)
    members: dict[str, list[Member]] = {aid: [] for aid in ids}
    for (contact, _), result in zip(people, first, strict=True):
        aid = links[str(result.contact_id)]
        if aid is not None:
            members[aid].append(Member.of(contact, result))
    final = {aid: score_account(model, index.by_id[aid], members[aid], as_of=when) for aid in ids}
    second = score_all(final) if use.score_fields else first
    return Population(second, [final[aid] for aid in ids], links)


def account_outcomes(model: ScoringModel, record: Mapping[str, Any]) -> tuple[object, ...]:
    """What the contact's rules that read account fields decide for ``record``: equal
    outcomes for two sets of account fields mean equal scores (only those rules read
    them), so a contact need not be scored again when its account changes."""
    names = model.account_use.rules
    out: list[Any] = []
    for _, rule in model.rules():
        if rule.name not in names:
            continue
        if isinstance(rule, PropertyRule):
            conds = [rule.when] if rule.when is not None else [c.when for c in rule.cases]
            out.append(tuple(evaluate(c, record) for c in conds))
        elif isinstance(rule, CompletenessRule):
            fields = sorted(f for f in rule_fields(rule) if f.startswith(ACCOUNT))
            out.append(tuple(V.is_missing(record.get(f)) for f in fields))
    out += [evaluate(x.when, record) for x in model.exclusions if x.name in names and x.when]
    return tuple(out)
