"""The ``account:`` section of a model: scoring the company, not only the person.

An account (a company) has an id, a domain and properties. Its contacts are the
ones linked to it: by their ``account_id`` property, or else by the domain of
their ``email`` (see :mod:`leadscore.engine.linking`). The section scores accounts
like a model scores contacts::

    account:
      groups:
        fit:                     # rules on the account's own properties
          rules: [{name: Target industry, when: {industry: Software}, points: 20}]
        engagement:              # roll-ups of the account's contacts
          rules:
            - {name: Team engagement, rollup: sum, of: engagement, max_points: 40}
            - {name: Champion, rollup: max, of: engagement}
            - {name: Top three, rollup: top, top: 3, of: engagement}
            - {name: Engaged people, rollup: count, where: {engagement: {gte: 15}}, points: 5}
            - name: Buying group
              rollup: roles
              roles: {decision maker: {seniority: [c_level, vp]}, user: {function: it}}
              where: {engagement: {gte: 10}}
              points: 25
      grades: {fit: {A: 40, B: 25, C: 10}}
      thresholds: [{stage: MQA, when: {total: {gte: 60}}}]
      triggers: [...]

Contact rules read their account as ``account.<field>``: a property
(``account.industry``, ``account.id``, ``account.domain``) or a score
(``account.total``, ``account.<group>``, ``account.grade``, ``account.stage``,
``account.excluded``). :func:`check_account_use` holds the two halves together:
what may read what, and that no score depends on itself through its account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .conditions import Condition, Predicate, condition_fields
from .rules import (
    CompletenessRule,
    EventRule,
    FrequencyRule,
    Frozen,
    InactivityRule,
    Location,
    Problems,
    PropertyRule,
    RuleBase,
    as_condition,
    check_groups,
    optional_condition,
    suggest,
)
from .spine import (
    PREDICTED,
    Grades,
    Scale,
    Threshold,
    Total,
    check_bounds,
    check_thresholds,
    read_grades,
)
from .triggers import CrmAction, Trigger, check_triggers

if TYPE_CHECKING:
    from .schema import ScoringModel

ACCOUNT = "account."  # the prefix of account fields in contact rules
ACCOUNT_SCORES = ("total", "grade", "stage", "excluded")
RESERVED_ACCOUNT_GROUPS = {*ACCOUNT_SCORES, "id", "domain"}
CONTACT_SCORES = ("total", "grade", "stage", "excluded")  # beside the contact's groups
ROLLUPS = ("sum", "max", "top", "count", "roles")
VALUE_ROLLUPS = ("sum", "max", "top")
NUMBER_OPS = ("gt", "gte", "lt", "lte", "between", "exists", "missing")


class RollupRule(RuleBase):
    """Points from the account's contacts: a sum, maximum or top-N mean of one of their
    scores, a count of contacts, or the roles of a buying group that are covered."""

    kind: Literal["rollup"] = "rollup"
    rollup: Literal["sum", "max", "top", "count", "roles"]
    of: str | None = Field(default=None, description="the contact score rolled up")
    top: int | None = Field(default=None, ge=1, description="how many contacts 'top' averages")
    where: Condition | None = Field(default=None, description="which contacts count")
    roles: dict[str, Condition] | None = None
    points: float | None = None
    at_least: int | None = Field(default=None, ge=1)
    max_points: float | None = Field(default=None, description="cap on |points|")
    include_excluded: bool = Field(
        default=False, description="count contacts the model excludes too"
    )

    _c = field_validator("where", mode="before")(optional_condition)

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise PydanticCustomError(
                "rule_shape",
                "'roles' maps each role of the buying group to a condition on the contact, "
                "e.g. {{decision maker: {{seniority: [c_level, vp]}}, user: {{function: it}}}}",
                {},
            )
        out = {}
        for name, cond in value.items():
            if not isinstance(name, str) or not name.strip():
                raise PydanticCustomError("rule_shape", "a role needs a name", {})
            out[name] = as_condition(cond)
        return out

    @field_validator("max_points")
    @classmethod
    def _cap(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise PydanticCustomError(
                "cap", "max_points must be above zero, got {value}", {"value": value}
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> RollupRule:
        agg = self.rollup

        def refuse(key: str, why: str) -> None:
            if getattr(self, key) is not None:
                raise PydanticCustomError(
                    "rule_shape",
                    "'{key}' does not go with 'rollup: {agg}': {why}",
                    {"key": key, "agg": agg, "why": why},
                )

        if agg in VALUE_ROLLUPS:
            if self.of is None:
                raise PydanticCustomError(
                    "rule_shape",
                    "'rollup: {agg}' needs 'of': the contact score it rolls up, e.g. of: "
                    "engagement",
                    {"agg": agg},
                )
            refuse("points", "the rule gives the rolled-up value itself; cap it with max_points")
            refuse("at_least", "use 'rollup: count' with 'at_least' to count contacts")
            refuse("roles", "roles go with 'rollup: roles'")
            if agg == "top" and self.top is None:
                raise PydanticCustomError(
                    "rule_shape", "'rollup: top' needs 'top: N', how many contacts to average", {}
                )
            if agg != "top":
                refuse("top", "'top: N' goes with 'rollup: top'")
            return self
        refuse("of", f"'rollup: {agg}' counts contacts; it reads no score")
        refuse("top", "'top: N' goes with 'rollup: top'")
        if self.points is None:
            raise PydanticCustomError("rule_shape", "'rollup: {agg}' needs 'points'", {"agg": agg})
        if agg == "count":
            refuse("roles", "roles go with 'rollup: roles'")
            if self.at_least is not None:
                refuse("max_points", "with 'at_least' the points are given once")
            return self
        if not self.roles:
            raise PydanticCustomError(
                "rule_shape",
                "'rollup: roles' needs 'roles': each role of the buying group and the "
                "condition a contact meets to hold it",
                {},
            )
        refuse("max_points", "the points are given once, when enough roles are covered")
        if self.at_least is not None and self.at_least > len(self.roles):
            raise PydanticCustomError(
                "rule_shape",
                "'at_least: {n}' asks for more roles than the {m} listed",
                {"n": self.at_least, "m": len(self.roles)},
            )
        return self

    @property
    def roles_needed(self) -> int:
        return self.at_least if self.at_least is not None else len(self.roles or {})


def account_rule_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return getattr(value, "kind", None)
    if not isinstance(value, dict):
        return None
    if "kind" in value:
        return value["kind"] if value["kind"] in ("property", "completeness", "rollup") else None
    if "rollup" in value:
        return "rollup"
    if "properties" in value:
        return "completeness"
    if "when" in value or "cases" in value:
        return "property"
    return None


AccountRule = Annotated[
    Union[  # noqa: UP007
        Annotated[PropertyRule, Tag("property")],
        Annotated[CompletenessRule, Tag("completeness")],
        Annotated[RollupRule, Tag("rollup")],
    ],
    Discriminator(
        account_rule_kind,
        custom_error_type="rule_kind",
        custom_error_message=(
            "cannot tell what kind of account rule this is: give 'when' (a property of the "
            "account), 'properties' (completeness) or 'rollup' (sum, max, top, count or roles "
            "of the account's contacts); accounts have no events of their own, so event rules "
            "go in the contact groups and reach the account through a roll-up"
        ),
    ),
]
ACCOUNT_RULE_KINDS = ("property", "completeness", "rollup")


class AccountGroup(Frozen):
    """A named account score: summed (default) or a weighted mean of its rules."""

    combine: Literal["sum", "weighted_mean"] = "sum"
    min: float | None = None
    max: float | None = None
    description: str | None = None
    rules: tuple[AccountRule, ...] = ()

    @property
    def rolls_up(self) -> bool:
        """Whether the group reads the account's contacts (and so changes with them)."""
        return any(isinstance(r, RollupRule) for r in self.rules)


class AccountExclusion(Frozen):
    """Disqualifies an account (an existing customer, a competitor) by its properties."""

    name: str = Field(min_length=1)
    when: Condition
    description: str | None = None

    _c = field_validator("when", mode="before")(as_condition)


class AccountScoring(Frozen):
    """How accounts are scored: the ``account:`` section of a model."""

    description: str | None = None
    scale: Scale = Scale()
    groups: dict[str, AccountGroup] = Field(min_length=1)
    total: Total = Total()
    exclusions: tuple[AccountExclusion, ...] = ()
    grades: Grades | None = None
    thresholds: tuple[Threshold, ...] = ()
    default_stage: str | None = None
    triggers: tuple[Trigger, ...] = ()

    _g = field_validator("grades", mode="before")(lambda v: read_grades(v))

    def rules(self) -> Iterator[tuple[str, AccountRule]]:
        """Every (group name, rule) pair in order."""
        for gname, group in self.groups.items():
            for rule in group.rules:
                yield gname, rule

    @property
    def score_fields(self) -> set[str]:
        return {"total", "grade", *self.groups}

    def rollups(self) -> Iterator[tuple[str, RollupRule]]:
        """Every roll-up rule with its group name."""
        for gname, rule in self.rules():
            if isinstance(rule, RollupRule):
                yield gname, rule

    def reads_contact_score(self, name: str) -> bool:
        """Whether a roll-up reads the contacts' score ``name``."""
        for _, rule in self.rollups():
            conds = [rule.where, *(rule.roles or {}).values()]
            if rule.of == name or any(c is not None and name in condition_fields(c) for c in conds):
                return True
        return False


def _check_section(acc: AccountScoring, problems: Problems, contact_triggers: set[str]) -> None:
    at = ("account",)
    check_groups(
        problems, acc.groups, acc.exclusions, acc.total.weights, at, RESERVED_ACCOUNT_GROUPS
    )
    if acc.grades is not None and acc.grades.group not in acc.groups:
        problems.append(
            (
                (*at, "grades", acc.grades.group),
                f"account grades use unknown group {acc.grades.group!r}",
                suggest(acc.grades.group, acc.groups),
            )
        )
    stages = check_thresholds(problems, acc.thresholds, acc.score_fields, at)
    known = stages | ({acc.default_stage} if acc.default_stage else set())
    check_triggers(problems, acc.triggers, known, acc.score_fields, at, taken=contact_triggers)
    check_bounds(
        problems, acc.scale, acc.groups, acc.grades, acc.thresholds, at, triggers=acc.triggers
    )
    for i, trig in enumerate(acc.triggers):
        for j, action in enumerate(trig.actions):
            if isinstance(action, CrmAction):
                problems.append(
                    (
                        (*at, "triggers", i, "actions", j),
                        "a crm action syncs a contact; an account trigger cannot run it",
                        "use a webhook or an email action for accounts",
                    )
                )
    own = "inside 'account:' fields are the account's own properties: write {short!r}"
    for gname, group in acc.groups.items():
        for i, rule in enumerate(group.rules):
            if isinstance(rule, RollupRule):
                continue
            for field in sorted(rule_fields(rule)):
                if field.startswith(ACCOUNT):
                    problems.append(
                        (
                            (*at, "groups", gname, "rules", i),
                            f"account rule reads {field!r}",
                            own.format(short=field[len(ACCOUNT) :]),
                        )
                    )
    for i, x in enumerate(acc.exclusions):
        for field in sorted(f for f in condition_fields(x.when) if f.startswith(ACCOUNT)):
            problems.append(
                (
                    (*at, "exclusions", i, "when"),
                    f"account exclusion reads {field!r}",
                    own.format(short=field[len(ACCOUNT) :]),
                )
            )


def rule_fields(rule: Any) -> set[str]:
    """The record fields a property or completeness rule reads."""
    if isinstance(rule, PropertyRule):
        out = condition_fields(rule.when) if rule.when is not None else set()
        for c in rule.cases:
            out |= condition_fields(c.when)
        return out
    if isinstance(rule, CompletenessRule):
        return set(rule.properties)
    return set()


def text_tests(cond: Condition, numbers: set[str]) -> list[tuple[str, str, Any]]:
    """(field, op, value) of each test in ``cond`` that treats a number field as text."""
    out: list[tuple[str, str, Any]] = []
    for p in _predicates(cond):
        if p.field not in numbers or p.op in NUMBER_OPS:
            continue
        items = p.value if isinstance(p.value, tuple) else (p.value,)
        if p.op in ("eq", "ne", "in", "not_in") and not any(isinstance(i, str) for i in items):
            continue
        out.append((p.field, p.op, p.value))
    return out


def _predicates(cond: Condition) -> Iterator[Predicate]:
    if isinstance(cond, Predicate):
        yield cond
        return
    for item in getattr(cond, "items", None) or ([cond.item] if hasattr(cond, "item") else []):
        yield from _predicates(item)


# ----------------------------------------------------------------------------- what reads what


@dataclass(frozen=True)
class AccountUse:
    """What a model's contact rules read of their account, and what depends on it.

    ``static`` account scores come from the account's properties alone; the others
    (``dynamic``) roll up contacts. A contact rule reading a dynamic score must be
    computed after the account, so the roll-ups may not read what such a rule feeds.
    """

    property_fields: frozenset[str]  # account.<property> names read by contact rules
    score_fields: frozenset[str]  # account.<score> names read by contact rules
    dynamic: frozenset[str]  # account scores that depend on the contacts
    rules: frozenset[str]  # contact rule names that read any account field
    score_rules: frozenset[str]  # contact rules (and exclusions) reading account scores
    exclusions: frozenset[str]  # contact exclusions reading any account field

    @property
    def reads_account(self) -> bool:
        return bool(self.property_fields or self.score_fields)

    @property
    def reads_dynamic(self) -> bool:
        """Whether contact scores need the account's final (rolled-up) scores."""
        return bool(self.score_fields & self.dynamic)


def rollup_groups(model: ScoringModel) -> set[str]:
    """Contact groups the roll-ups read (``of`` and the conditions' score fields)."""
    acc = model.account
    if acc is None:
        return set()
    groups = {*model.groups, "predicted"}
    out: set[str] = set()
    for _, rule in acc.rollups():
        out |= {rule.of} & groups if rule.of else set()
        for cond in [rule.where, *(rule.roles or {}).values()]:
            if cond is not None:
                out |= condition_fields(cond) & groups
    return out


def rollup_properties(model: ScoringModel) -> set[str]:
    """Contact properties the roll-ups' conditions read (their other fields are scores)."""
    acc = model.account
    if acc is None:
        return set()
    scores = {*model.groups, *CONTACT_SCORES, "predicted"}
    out: set[str] = set()
    for _, rule in acc.rollups():
        for cond in [rule.where, *(rule.roles or {}).values()]:
            if cond is not None:
                out |= {f for f in condition_fields(cond) if f not in scores}
    return out


def account_score_names(model: ScoringModel) -> set[str]:
    acc = model.account
    return set() if acc is None else {*ACCOUNT_SCORES, *acc.groups}


def account_use(model: ScoringModel) -> AccountUse:
    """What ``model``'s contact rules read of their account (``model.account_use`` caches it)."""
    scores = account_score_names(model)
    props: set[str] = set()
    read_scores: set[str] = set()
    rules: set[str] = set()
    score_rules: set[str] = set()
    exclusions: set[str] = set()
    readers = [(r.name, rule_fields(r)) for _, r in model.rules()]
    readers += [(x.name, condition_fields(x.when)) for x in model.exclusions if x.when is not None]
    excluders = {x.name for x in model.exclusions}
    for name, fields in readers:
        mine = {f[len(ACCOUNT) :] for f in fields if f.startswith(ACCOUNT)}
        if not mine:
            continue
        rules.add(name)
        if name in excluders:
            exclusions.add(name)
        if mine & scores:
            score_rules.add(name)
        read_scores |= mine & scores
        props |= mine - scores
    return AccountUse(
        frozenset(props),
        frozenset(read_scores),
        frozenset(_dynamic(model)),
        frozenset(rules),
        frozenset(score_rules),
        frozenset(exclusions),
    )


def _dynamic(model: ScoringModel) -> set[str]:
    acc = model.account
    if acc is None:
        return set()
    out = {g for g, group in acc.groups.items() if group.rolls_up}
    weighted = acc.total.weights.keys() if acc.total.weights is not None else acc.groups.keys()
    if out & set(weighted):
        out.add("total")
    if acc.grades is not None and acc.grades.group in out:
        out.add("grade")
    if any(condition_fields(t.when) & out for t in acc.thresholds):
        out.add("stage")
    return out


def _contact_dependents(model: ScoringModel, use: AccountUse) -> dict[str, str]:
    """Contact scores that depend on a dynamic account score → the account score."""
    dyn = use.dynamic
    out: dict[str, str] = {}

    def reads(rule_or_cond_fields: set[str]) -> str | None:
        for f in sorted(rule_or_cond_fields):
            if f.startswith(ACCOUNT) and f[len(ACCOUNT) :] in dyn:
                return f
        return None

    for gname, group in model.groups.items():
        for rule in group.rules:
            hit = reads(rule_fields(rule))
            if hit is not None and gname not in out:
                out[gname] = hit
    excl = next(
        (
            f
            for x in model.exclusions
            if x.when is not None
            for f in [reads(condition_fields(x.when))]
            if f
        ),
        None,
    )
    if excl is not None:
        out["excluded"] = excl
    weighted = model.total.weights.keys() if model.total.weights is not None else model.groups
    dep_total = next((out[g] for g in weighted if g in out), None) or excl
    if dep_total is not None:
        out["total"] = dep_total
    if model.grades is not None and model.grades.group in out:
        out["grade"] = out[model.grades.group]
    stage = excl or next(
        (out[f] for t in model.thresholds for f in sorted(condition_fields(t.when)) if f in out),
        None,
    )
    if stage is not None:
        out["stage"] = stage
    return out


def check_account_use(model: ScoringModel, problems: Problems) -> None:
    """Account fields in contact rules, roll-ups of contact scores, and no loops."""
    acc = model.account
    if acc is not None:
        _check_section(acc, problems, {t.name for t in model.triggers})
    scores = account_score_names(model)
    numbers = {"total", *(acc.groups if acc is not None else ())}

    def check_fields(cond_or_fields: Any, where: Location) -> None:
        fields = (
            cond_or_fields if isinstance(cond_or_fields, set) else condition_fields(cond_or_fields)
        )
        for field in sorted(f for f in fields if f.startswith(ACCOUNT)):
            name = field[len(ACCOUNT) :]
            if not name:
                problems.append((where, "'account.' needs a field name", "e.g. account.industry"))
            elif acc is None and name in ACCOUNT_SCORES:
                problems.append(
                    (
                        where,
                        f"{field!r} is an account score, and the model scores no accounts",
                        "add an 'account:' section with groups, or read an account property "
                        "such as account.industry",
                    )
                )
            elif acc is not None and name == "grade" and acc.grades is None:
                problems.append(
                    (where, f"{field!r}: the account section has no grades", "add account grades")
                )
            elif (
                acc is not None
                and name == "stage"
                and not acc.thresholds
                and acc.default_stage is None
            ):
                problems.append(
                    (
                        where,
                        f"{field!r}: the account section has no stages",
                        "add account thresholds",
                    )
                )
        if isinstance(cond_or_fields, set):
            return
        names = {ACCOUNT + n for n in numbers}
        for field, op, value in text_tests(cond_or_fields, names):
            problems.append(
                (
                    where,
                    f"{field!r} is a number: '{op}' with {value!r} tests text",
                    "compare it with gt, gte, lt, lte, between or eq with a number",
                )
            )

    for gname, group in model.groups.items():
        for i, rule in enumerate(group.rules):
            where = ("groups", gname, "rules", i)
            if isinstance(rule, PropertyRule):
                if rule.when is not None:
                    check_fields(rule.when, (*where, "when"))
                for j, case in enumerate(rule.cases):
                    check_fields(case.when, (*where, "cases", j, "when"))
            elif isinstance(rule, CompletenessRule):
                check_fields(set(rule.properties), (*where, "properties"))
            elif isinstance(rule, EventRule | FrequencyRule | InactivityRule) and rule.on:
                for field in sorted(f for f in condition_fields(rule.on) if f.startswith(ACCOUNT)):
                    problems.append(
                        (
                            (*where, "on"),
                            f"an event filter reads {field!r}",
                            "event filters read the event's type and attributes; give points "
                            "for account fields in a property rule",
                        )
                    )
    for i, x in enumerate(model.exclusions):
        if x.when is not None:
            check_fields(x.when, ("exclusions", i, "when"))
        if x.on is not None and any(f.startswith(ACCOUNT) for f in condition_fields(x.on)):
            problems.append(
                (
                    ("exclusions", i, "on"),
                    "an event filter reads an account field",
                    "exclude by account fields with 'when'",
                )
            )
    if acc is None:
        return
    _check_rollups(model, acc, problems, scores)


def _check_rollups(
    model: ScoringModel, acc: AccountScoring, problems: Problems, scores: set[str]
) -> None:
    values = {"total", *model.groups, *([PREDICTED] if model.predicted is not None else [])}
    contact_scores = {*values, *CONTACT_SCORES}
    use = account_use(model)
    depends = _contact_dependents(model, use)
    for gname, group in acc.groups.items():
        for i, rule in enumerate(group.rules):
            if not isinstance(rule, RollupRule):
                continue
            where = ("account", "groups", gname, "rules", i)
            if rule.of is not None and rule.of not in values:
                problems.append(
                    (
                        (*where, "of"),
                        f"roll-up of unknown contact score {rule.of!r}",
                        suggest(rule.of, values)
                        or "roll up total or a contact group: " + ", ".join(sorted(values)),
                    )
                )
            conds: list[tuple[str | tuple[str, str], Condition]] = []
            if rule.where is not None:
                conds.append(("where", rule.where))
            conds += [(("roles", r), c) for r, c in (rule.roles or {}).items()]
            read: list[tuple[Location, str]] = []
            if rule.of is not None:
                read.append(((*where, "of"), rule.of))
            if not rule.include_excluded:
                read.append((where, "excluded"))
            for key, cond in conds:
                sub = (*where, *(key if isinstance(key, tuple) else (key,)))
                for field, op, value in text_tests(cond, values):
                    problems.append(
                        (
                            sub,
                            f"the contacts' {field!r} is a number: '{op}' with {value!r} tests "
                            "text",
                            "compare it with gt, gte, lt, lte, between or eq with a number",
                        )
                    )
                for field in sorted(condition_fields(cond)):
                    if field.startswith(ACCOUNT):
                        problems.append(
                            (
                                sub,
                                f"a roll-up condition reads {field!r}",
                                "roll-up conditions read the contact's properties and scores; "
                                "the account's own fields go in account property rules",
                            )
                        )
                    elif field in contact_scores:
                        read.append((sub, field))
            for place, field in read:
                if field in depends:
                    implicit = field == "excluded" and not rule.include_excluded
                    problems.append(
                        (
                            place,
                            f"the roll-up reads the contacts' {field!r}, which depends on "
                            f"{depends[field]!r}, a score this roll-up feeds: a loop",
                            (
                                "roll-ups leave excluded contacts out: an exclusion reading "
                                "a rolled-up account score makes a loop; add "
                                "'include_excluded: true' or exclude on account properties"
                            )
                            if implicit
                            else "roll up a contact score that does not read the rolled-up "
                            "account scores, or read account properties only",
                        )
                    )
