"""Progressive profiling: which unknown fields are worth asking a contact next.

A what-if over scores (the contact scored once per answer tried), so it sits with
the other previews of what a change would do to scores, above the evaluator and
the enrichment it re-runs.

For each candidate field the contact has not filled, :func:`next_questions`
tries the answers that field can take, scores the contact under the model with
each answer (after re-running the offline enrichment, so an e-mail address
gives ``email_type``, a job title ``seniority``), and measures how far the
outcomes spread:

* the answers tried: every value the model's own conditions test on the field
  (``eq``/``in`` values, the ends of ``between`` and both sides of ``gt``/``lt``
  bounds, ``contains``/``starts_with``/``ends_with`` texts, examples of
  ``matches`` patterns, any value for ``exists`` and completeness rules), one
  value that none of them names, and, for the fields enrichment reads, sample
  answers of each kind (free / business / disposable / role / invalid e-mails,
  titles of every seniority and function, the contact's country's example
  mobile and fixed numbers);
* the ranking: first the fields whose answer can change the **stage** (or
  exclude the contact), then those that can change the **grade**, then by the
  **spread** of the total score (highest minus lowest); ties keep the order the
  fields were given in. Fields whose answer cannot change anything are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..engine import values as V
from ..engine.inprocess import score_contact
from ..engine.result import Event
from ..enrich.contact import (
    DEFAULT_OPTIONS,
    EnrichOptions,
    enrich_contact,
    forget_derived,
    input_kind,
)
from ..model.conditions import AllOf, AnyOf, Not, Predicate
from ..model.schema import CompletenessRule, PropertyRule, ScoringModel
from .witness import witnesses

OTHER_ANSWER = "(something else)"
SAMPLE_DOMAIN = "example-company.com"
SAMPLE_EMAILS = (
    f"jane.doe@{SAMPLE_DOMAIN}",  # business
    "jane.doe@gmail.com",  # free
    "jane.doe@mailinator.com",  # disposable
    f"info@{SAMPLE_DOMAIN}",  # role
    "not-an-email",  # invalid
)
SAMPLE_TITLES = (
    "CEO", "CTO", "CFO", "CMO", "VP Sales", "VP Engineering", "Sales Director",
    "Marketing Director", "IT Manager", "HR Manager", "Product Manager", "Operations Manager",
    "Software Engineer", "Account Executive", "Accountant", "Legal Counsel",
    "Customer Support Agent", "Marketing Intern",
)  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """The contact's outcome if a field had one value (``value`` None: left unknown)."""

    value: Any
    total: float
    grade: str | None
    stage: str | None
    excluded: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "total": self.total,
            "grade": self.grade,
            "stage": self.stage,
            "excluded": self.excluded,
        }


@dataclass(frozen=True)
class Question:
    """One field worth asking, with what its answer could do to the contact."""

    field: str
    now: Answer  # the outcome with the field unknown
    lowest: Answer
    highest: Answer
    stages: tuple[str, ...]  # stages reachable ("excluded" for an exclusion)
    grades: tuple[str, ...]
    changes_stage: bool
    changes_grade: bool
    spread: float
    answers_tried: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "now": self.now.to_dict(),
            "lowest": self.lowest.to_dict(),
            "highest": self.highest.to_dict(),
            "stages": list(self.stages),
            "grades": list(self.grades),
            "changes_stage": self.changes_stage,
            "changes_grade": self.changes_grade,
            "spread": self.spread,
            "answers_tried": self.answers_tried,
        }


def _predicates(cond) -> Iterable[Predicate]:
    if cond is None:
        return
    if isinstance(cond, Predicate):
        yield cond
    elif isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            yield from _predicates(item)
    elif isinstance(cond, Not):
        yield from _predicates(cond.item)


def _property_conditions(model: ScoringModel) -> list:
    conds: list = []
    for group in model.groups.values():
        for rule in group.rules:
            if isinstance(rule, PropertyRule):
                conds.append(rule.when)
                conds.extend(case.when for case in rule.cases)
    conds.extend(exc.when for exc in model.exclusions if exc.when is not None)
    return conds


def _numeric_neighbours(value: float) -> list[Any]:
    step = 1 if float(value).is_integer() else 0.01
    return [value - step, value, value + step]


def _model_values(model: ScoringModel, field: str) -> list[Any]:
    out: list[Any] = []
    for cond in _property_conditions(model):
        for p in _predicates(cond):
            if p.field != field:
                continue
            if p.op in ("eq", "ne", "contains", "starts_with", "ends_with"):
                out.append(p.value)
            elif p.op in ("in", "not_in"):
                out.extend(p.value)
            elif p.op in ("gt", "gte", "lt", "lte"):
                out.extend(_numeric_neighbours(p.value))
            elif p.op == "between":
                low, high = p.value
                out.extend([*_numeric_neighbours(low), *_numeric_neighbours(high)])
            elif p.op == "matches":
                out.extend(witnesses(p.value))
            elif p.op in ("exists", "missing"):
                out.append(OTHER_ANSWER)
    for group in model.groups.values():
        for rule in group.rules:
            if isinstance(rule, CompletenessRule) and field in rule.properties:
                out.append(OTHER_ANSWER)
    return out


def _sample_values(kind: str | None, model: ScoringModel, enriched: Mapping[str, Any]) -> list:
    if kind == "email":
        domains = [d for d in _model_values(model, "email_domain") if isinstance(d, str)]
        return [*SAMPLE_EMAILS, *(f"jane.doe@{d}" for d in domains)]
    if kind == "job_title":
        return list(SAMPLE_TITLES)
    if kind == "phone":
        return [*_example_phones(V.text(enriched.get("country"))), "12"]
    if kind == "country":
        return [v for f in ("phone_country", "ip_country") for v in _model_values(model, f)]
    return []


def _example_phones(region: str | None) -> list[str]:
    import phonenumbers as pn

    if not region:
        return []
    out = []
    for kind in (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE):
        number = pn.example_number_for_type(region.upper(), kind)
        if number is not None:
            out.append(pn.format_number(number, pn.PhoneNumberFormat.E164))
    return out


def candidate_values(
    model: ScoringModel,
    field: str,
    contact: Mapping[str, Any] | None = None,
    options: EnrichOptions = DEFAULT_OPTIONS,
) -> list[Any]:
    """The answers tried for ``field``: from the model, samples for enrichment inputs,
    and one value nothing names; without repeats, in a stable order."""
    enriched = enrich_contact(contact or {}, options)
    values = _model_values(model, field)
    values += _sample_values(input_kind(field, options), model, enriched)
    values.append(OTHER_ANSWER)
    seen: set = set()
    out = []
    for v in values:
        key = (type(v).__name__, str(v).lower())
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def next_questions(
    model: ScoringModel,
    contact: Mapping[str, Any],
    candidate_fields: Sequence[str],
    n: int = 3,
    *,
    events: Iterable[Event | Mapping[str, Any]] = (),
    as_of: datetime | str | None = None,
    enrich: bool = True,
    options: EnrichOptions = DEFAULT_OPTIONS,
) -> list[Question]:
    """The ``n`` unknown fields whose answers could change the outcome most.

    Fields the contact already has are skipped. ``enrich`` re-runs the offline
    enrichment on each answer (on by default, as the service does on upsert).
    """
    from ..engine.inprocess import to_event
    from ..engine.values import timestamp

    # one time for every answer: with decay, "now" read twice would differ
    when = timestamp(as_of) if as_of is not None else datetime.now(UTC)
    event_list = [to_event(e) for e in events]

    def outcome(props: Mapping[str, Any], value: Any) -> Answer:
        final = enrich_contact(props, options) if enrich else dict(props)
        result = score_contact(model, final, event_list, as_of=when)
        return Answer(value, result.total, result.grade, result.stage, result.excluded)

    now = outcome(contact, None)
    ranked: list[tuple[tuple, Question]] = []
    for position, field in enumerate(dict.fromkeys(candidate_fields)):
        if not V.is_missing(contact.get(field)):
            continue
        base = forget_derived(contact, [field], options)
        answers = [now]
        values = candidate_values(model, field, contact, options)
        for value in values:
            answers.append(outcome({**base, field: value}, value))
        question = _summarise(field, now, answers[1:], len(values))
        if question is None:
            continue
        key = (not question.changes_stage, not question.changes_grade, -question.spread, position)
        ranked.append((key, question))
    ranked.sort(key=lambda kv: kv[0])
    return [q for _, q in ranked[: max(n, 0)]]


def _stage_label(a: Answer) -> str:
    return "excluded" if a.excluded else (a.stage or "-")


def _summarise(field: str, now: Answer, answers: list[Answer], tried: int) -> Question | None:
    if not answers:
        return None
    lowest = min(answers, key=lambda a: a.total)
    highest = max(answers, key=lambda a: a.total)
    stages = tuple(sorted({_stage_label(a) for a in answers}))
    grades = tuple(sorted({a.grade for a in answers if a.grade is not None}))
    changes_stage = any(_stage_label(a) != _stage_label(now) for a in answers)
    changes_grade = any(a.grade != now.grade for a in answers)
    spread = round(highest.total - lowest.total, 9)
    moves = any(a.total != now.total for a in answers)
    if not (changes_stage or changes_grade or moves):
        return None
    return Question(
        field=field,
        now=now,
        lowest=lowest,
        highest=highest,
        stages=stages,
        grades=grades,
        changes_stage=changes_stage,
        changes_grade=changes_grade,
        spread=spread,
        answers_tried=tried,
    )
