"""Hypothesis strategies for accounts: random ``account:`` sections and contact rules
reading ``account.<field>``, over accounts and contacts that link explicitly, by
e-mail domain, by free-mail domains (which never link) and to unknown ids."""

from __future__ import annotations

from hypothesis import strategies as st

from .strategies import TEXTS, conditions, models, populations, rules

ACCOUNT_PROPS = ["domain", "ind", "size"]
ACCOUNT_IDS = ["A0", "A1", "A2", "A3"]
DOMAINS = [
    "acme.com",
    None,
    "https://www.Acme.com/about",
    "beta.io",
    "BETA.io",
    "gmail.com",
    "not a domain",
    "sub.beta.io",
]
EMAILS = [
    "x@acme.com",
    "z@beta.io",
    None,
    "",
    "y@ACME.COM ",
    "z@beta.io",
    "w@gmail.com",
    "bad",
    "a@b@acme.com",
    "q@other.org",
    "r@sub.beta.io",
    "@",
]
REFS = [None, "A0", None, "A1", " A2 ", "nope", "", "a0", None]
SIZES = ["50", None, "5", "500", " 50 ", "x", "-1"]

account_conditions = conditions(["ind", "size", "id", "domain", "missing_prop"])


def _score_test(field: str):
    """A numeric test on a (maybe missing) account score."""
    return st.one_of(
        st.builds(
            lambda op, v: {field: {op: v}},
            st.sampled_from(["gte", "gt", "lt", "lte", "eq", "ne"]),
            st.sampled_from([0, 5, 10, 20]),
        ),
        st.builds(lambda v: {field: {"between": [0, v]}}, st.sampled_from([5, 30])),
        st.builds(lambda b: {field: {"exists": b}}, st.booleans()),
        st.builds(
            lambda vs: {field: {"in": vs}}, st.lists(st.sampled_from([0, 5, 10]), min_size=1)
        ),
    )


def _account_field_conditions(section: dict | None):
    leaves = [
        st.builds(lambda v: {"account.ind": v}, st.sampled_from(["a", "A", "ab", "é"])),
        st.builds(lambda v: {"account.size": {"gte": v}}, st.sampled_from([10, 50])),
        st.builds(lambda v: {"account.id": v}, st.sampled_from(ACCOUNT_IDS)),
        st.builds(lambda b: {"account.domain": {"exists": b}}, st.booleans()),
        st.builds(lambda b: {"account.nope": {"missing": b}}, st.booleans()),
    ]
    if section is not None:
        leaves += [
            _score_test("account.total"),
            *[_score_test(f"account.{g}") for g in section["groups"]],
        ]
        leaves.append(st.builds(lambda b: {"account.excluded": b}, st.booleans()))
        if "grades" in section:
            leaves.append(
                st.builds(lambda v: {"account.grade": v}, st.sampled_from(["A", ["A", "B"], "D"]))
            )
        if section.get("thresholds") or section.get("default_stage"):
            leaves.append(
                st.builds(lambda v: {"account.stage": v}, st.sampled_from(["MQA", "acct", ["MQA"]]))
            )
    leaf = st.one_of(*leaves)
    return st.one_of(
        leaf,
        st.builds(lambda a, b: {"any": [a, b]}, leaf, leaf),
        st.builds(lambda a: {"not": a}, leaf),
    )


member_fields = ["a", "b", "n", "id", "missing_prop"]
# tests that hold for many contacts, so that roles and counts often fire
likely = st.sampled_from(
    [
        {"id": {"starts_with": "c"}},
        {"missing_prop": {"missing": True}},
        {"a": {"exists": True}},
        {"id": {"in": ["c1", "c3"]}},
        {"b": {"missing": True}},
        {"n": {"gte": 0}},
        {"a": {"contains": "a"}},
        {"id": {"in": ["c0", "c1", "c2"]}},
        {"not": {"b": "a"}},
    ]
)


def _member_condition(groups: list[str]):
    score = st.one_of(
        *[
            st.builds(
                lambda f, op, v: {f: {op: v}},
                st.just(f),
                st.sampled_from(["gte", "lt", "eq"]),
                st.sampled_from([0, 1, 5]),
            )
            for f in ["total", *groups]
        ],
        st.builds(lambda v: {"stage": v}, st.sampled_from(["S0", "lead", ["S1", "lead"]])),
        st.builds(lambda v: {"grade": v}, st.sampled_from(["A", "D"])),
        st.builds(lambda b: {"excluded": b}, st.booleans()),
    )
    return st.one_of(likely, score, conditions(member_fields))


@st.composite
def rollups(draw, groups: list[str], name: str):
    kind = draw(st.sampled_from(["sum", "max", "top", "count", "count_at_least", "roles"]))
    rule: dict = {"name": name}
    if draw(st.booleans()):
        rule["where"] = draw(_member_condition(groups))
    if draw(st.integers(0, 3)) == 0:
        rule["include_excluded"] = True
    if kind in ("sum", "max", "top"):
        rule["rollup"] = kind
        rule["of"] = draw(st.sampled_from([*groups, "total"]))
        if kind == "top":
            rule["top"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            rule["max_points"] = draw(st.sampled_from([3, 10]))
    elif kind in ("count", "count_at_least"):
        rule["rollup"] = "count"
        rule["points"] = draw(st.sampled_from([1, 2.5, -2]))
        if kind == "count_at_least":
            rule["at_least"] = draw(st.integers(1, 3))
        elif draw(st.booleans()):
            rule["max_points"] = draw(st.sampled_from([3, 10]))
    else:
        rule["rollup"] = "roles"
        n = draw(st.integers(1, 3))
        rule["roles"] = {
            f"role {i}": draw(st.one_of(likely, conditions(member_fields))) for i in range(n)
        }
        rule["points"] = draw(st.sampled_from([5, 10]))
        if draw(st.booleans()):
            rule["at_least"] = draw(st.integers(1, n))
    return rule


@st.composite
def account_sections(draw, contact_groups: list[str]):
    groups: dict = {}
    static = [
        {"name": f"af {i}", **r}
        for i, r in enumerate(
            draw(
                st.lists(
                    st.one_of(
                        st.builds(
                            lambda c, p: {"when": c, "points": p},
                            account_conditions,
                            st.sampled_from([1, 5, 10, -3]),
                        ),
                        st.builds(
                            lambda ps, p: {"properties": ps, "points": p},
                            st.lists(
                                st.sampled_from([*ACCOUNT_PROPS, "nope"]),
                                min_size=1,
                                max_size=2,
                                unique=True,
                            ),
                            st.sampled_from([1, 2]),
                        ),
                    ),
                    max_size=3,
                )
            )
        )
    ]
    groups["afit"] = {"rules": static}
    rolled = [
        draw(rollups(contact_groups, f"ar {i}")) for i in range(draw(st.sampled_from([2, 1, 3, 0])))
    ]
    if rolled or draw(st.booleans()):
        groups["aeng"] = {"rules": rolled}
        if draw(st.booleans()):
            groups["aeng"]["max"] = draw(st.sampled_from([10, 30]))
    if draw(st.booleans()) and rolled:  # rolled-up and static rules in one group
        groups["afit"]["rules"].append(draw(rollups(contact_groups, "ar mixed")))
    section: dict = {
        "groups": groups,
        "scale": draw(st.sampled_from([{"min": 0, "max": 100}, {"min": -5, "max": 20}])),
    }
    if draw(st.booleans()):
        section["grades"] = {"afit": {"A": 10, "B": 1, "else": "D"}}
    if draw(st.booleans()):
        section["thresholds"] = [
            {"stage": "MQA", "when": {"total": {"gte": draw(st.sampled_from([1, 5, 10]))}}}
        ]
    if draw(st.booleans()):
        section["default_stage"] = "acct"
    if draw(st.booleans()):
        section["exclusions"] = [{"name": "ax", "when": draw(account_conditions)}]
    if draw(st.booleans()):
        section["total"] = {"weights": {g: draw(st.sampled_from([1, 0.5])) for g in groups}}
    return section


@st.composite
def account_models(draw):
    """A random contact model, an optional account section and contact rules reading
    account fields (properties and scores), some in groups with event rules."""
    model = draw(models())
    wanted = draw(st.sampled_from([True, True, False, True]))  # three in four score accounts
    section = draw(account_sections(list(model["groups"]))) if wanted else None
    if section is not None:
        model["account"] = section
    reading = [
        {
            "name": f"acct {i}",
            "when": draw(_account_field_conditions(section)),
            "points": draw(st.sampled_from([2, 5, -1])),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    if draw(st.booleans()):
        reading.append(
            {
                "name": "acct cases",
                "cases": [
                    {"when": draw(_account_field_conditions(section)), "points": 3},
                    {"when": draw(_account_field_conditions(section)), "points": 1},
                ],
            }
        )
    if draw(st.booleans()):
        reading.append(
            {
                "name": "acct complete",
                "properties": ["account.ind", "account.size", "a"],
                "points": 1,
            }
        )
    if reading:
        mixed = [{"name": f"acct other {i}", **r} for i, r in enumerate(draw(rules("acct")))]
        model["groups"]["acct"] = {"rules": reading + mixed}
        if draw(st.booleans()):
            model["groups"]["acct"]["max"] = 8
        weights = model.get("total", {}).get("weights")
        if weights is not None:
            weights["acct"] = 1
    if draw(st.integers(0, 3)) == 0:
        model.setdefault("exclusions", []).append(
            {"name": "acct x", "when": draw(_account_field_conditions(section))}
        )
    return model


@st.composite
def account_populations(draw, max_contacts: int = 7, max_events: int = 12):
    """Accounts, and contacts that mostly belong to one of them (explicitly or by
    domain), the rest by a free-mail domain, an unknown id or a broken address."""
    contacts, events = draw(
        populations(max_contacts=max_contacts, max_events=max_events, min_contacts=3)
    )
    accounts = []
    for aid in ACCOUNT_IDS[: draw(st.sampled_from([2, 1, 3, 4, 0]))]:
        accounts.append(
            {
                "id": aid,
                "domain": draw(st.sampled_from(DOMAINS)),
                "ind": draw(st.one_of(st.sampled_from(TEXTS), st.none())),
                "size": draw(st.sampled_from(SIZES)),
            }
        )
    for c in contacts:
        how = draw(st.sampled_from(["explicit", "domain", "domain", "other"]))
        if how == "explicit" and accounts:
            aid = draw(st.sampled_from(accounts))["id"]
            c["account_id"] = draw(st.sampled_from([aid, f" {aid} ", aid]))
            c["email"] = draw(st.sampled_from(EMAILS))
        elif how == "domain" and accounts:
            domain = draw(st.sampled_from(accounts))["domain"] or "acme.com"
            bare = domain.split("//")[-1].split("/")[0].removeprefix("www.")
            c["account_id"] = draw(st.sampled_from([None, None, ""]))
            c["email"] = draw(st.sampled_from([f"p@{bare}", f" P@{bare.upper()} ", f"a@b@{bare}"]))
        else:
            c["account_id"] = draw(st.sampled_from(REFS))
            c["email"] = draw(st.sampled_from(EMAILS))
    return contacts, events, accounts
