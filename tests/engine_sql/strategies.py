"""Hypothesis strategies: random valid models, contacts and events over a small
vocabulary, so that conditions often match, times fall on window edges and
values are blank, malformed, cased differently or non-ASCII."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)
PROPS = ["a", "b", "n", "entered", "own_as_of", "st"]
ATTRS = ["url", "k"]
TYPES = ["view", "click", "form"]
TEXTS = [
    "",
    " ",
    "a",
    "A",
    "ab",
    "b a",
    "é",
    "É",
    "ß",
    "x1",
    "true",
    "YES",
    "no",
    "0",
    "1",
    "10",
    " 10 ",
    "1e1",
    "5.",
    "-2.5",
    "1,5",
    "\t",
    "ab-é",
    "abc",
    # case outside ASCII: sigma with its final form, Turkish dotted and dotless i, sharp
    # s and its capital, a ligature, the Kelvin sign, Cherokee, a titlecase digraph
    "ΣΑΣ",
    "σας",
    "İstanbul",
    "istanbul",
    "ı",
    "ẞ",
    "ﬁ",
    "\u212a",
    "k",
    "Ꭰ",
    "ꭰ",
    "ǅ",
]
LITERALS = [
    "a", "A", "ab", "é", "É", "x1", "true", "b", " ", 10, 1, 0, -2.5, 5, True, False,
    "σασ", "ΣΑΣ", "istanbul", "İstanbul", "ß", "fi", "K", "ꭰ", "ǆ",
]  # fmt: skip
NEEDLES = ["a", "B", "é", "1", "-", " ", "ab", "Σ", "ς", "İ", "I", "ß", "k", "Ꭰ", "ǅ"]
PATTERNS = [
    r"^a",
    r"b$",
    r"(?i)\b(ab|x1)\b",
    r"[a-c]+",
    r"é",
    r"(?i)É",
    r"\d",
    r"a|x1",
    r"^\s*1",
    r"(?i)^[A-Z]{2}$",
    r"\w+\s\w+",
    r"é\b",
    r"(?i)σας",
    r"(?i)^istanbul",
    r"(?i)[α-ω]+",
    r"(?i)k",
    r"(?i)ß",
    r"(?i)ꭰ",
]
SECONDS = [0, 1, 59, 60, 61, 3599, 3600, 3601, 7200, 86399, 86400, 86401, 2 * 86400, 5 * 86400]
DURATIONS = ["1m", "1h", "2h", "1d", "2d"]
TIME_TEXTS = [
    None,
    "",
    "2026-03-01",
    "2026-02-28T12:00:00Z",
    "2026-03-01 10:00:00+01:00",
    "2026-03-01T11:00",
    "2026-02-30",
    "not a time",
    "2026-02-27T12:00:00.5+00:00",
]


def _pred(fields: list[str]):
    field = st.sampled_from(fields)
    return st.one_of(
        st.builds(lambda f, v: {f: v}, field, st.sampled_from(LITERALS)),
        st.builds(
            lambda f, v: {f: v}, field, st.lists(st.sampled_from(LITERALS), min_size=1, max_size=3)
        ),
        st.builds(
            lambda f, op, v: {f: {op: v}},
            field,
            st.sampled_from(["ne", "not_in"]).flatmap(lambda op: st.just(op)),
            st.sampled_from(["a", 10, True]),
        ).map(
            lambda d: {
                k: ({"ne": v["ne"]} if "ne" in v else {"not_in": [v["not_in"]]})
                for k, v in d.items()
            }
        ),
        st.builds(
            lambda f, op, v: {f: {op: v}},
            field,
            st.sampled_from(["gt", "gte", "lt", "lte"]),
            st.sampled_from([0, 1, 5, 10, -2.5]),
        ),
        st.builds(lambda f: {f: {"between": [1, 10]}}, field),
        st.builds(
            lambda f, op, v: {f: {op: v}},
            field,
            st.sampled_from(["contains", "starts_with", "ends_with"]),
            st.sampled_from(NEEDLES),
        ),
        st.builds(lambda f, p: {f: {"matches": p}}, field, st.sampled_from(PATTERNS)),
        st.builds(lambda f, b: {f: {"exists": b}}, field, st.booleans()),
    )


def conditions(fields: list[str]):
    leaf = _pred(fields)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=4,
    )


event_filters = conditions(["type", "url", "k", "missing_attr"])
contact_conditions = conditions(["a", "b", "n", "missing_prop", "id"])

decays = st.one_of(
    st.none(),
    st.just("none"),
    st.builds(lambda d: {"half_life": d}, st.sampled_from(DURATIONS)),
    st.builds(lambda d: {"linear": d}, st.sampled_from(DURATIONS)),
    st.builds(lambda d: {"expires": d}, st.sampled_from(DURATIONS)),
    st.just({"steps": [{"until": "1h", "factor": 1}, {"until": "1d", "factor": 0.25}]}),
)
points = st.sampled_from([1, 2, 5, 10, -3, 0.5, 7.25])


def rules(prefix: str):
    prop = st.builds(lambda c, p: {"when": c, "points": p}, contact_conditions, points)
    cases = st.builds(
        lambda cs, ps, other: {
            "cases": [{"when": c, "points": p} for c, p in zip(cs, ps, strict=False)],
            **({"else": other} if other else {}),
        },
        st.lists(contact_conditions, min_size=1, max_size=3),
        st.lists(points, min_size=3, max_size=3),
        st.sampled_from([0, 0, -1]),
    )
    complete = st.builds(
        lambda ps, p: {"properties": ps, "points": p},
        st.lists(st.sampled_from(["a", "b", "n", "nope"]), min_size=1, max_size=3, unique=True),
        points,
    )
    event = st.builds(
        lambda on, p, cap, within, limit, decay: {
            "on": on,
            "points": p,
            **({"max_points": cap} if cap else {}),
            **({"within": within} if within else {}),
            **({"limit": limit} if limit else {}),
            **({"decay": decay} if decay is not None else {}),
        },
        event_filters,
        points,
        st.sampled_from([None, 3, 10]),
        st.sampled_from([None, "1h", "1d", "2d"]),
        st.sampled_from(
            [
                None,
                "once",
                {"count": 2, "per": "day"},
                {"count": 1, "per": "k"},
                {"count": 2, "per": "ever"},
            ]
        ),
        decays,
    )
    freq = st.builds(
        lambda on, n, w, p: {"on": on, "at_least": n, "points": p, **({"within": w} if w else {})},
        event_filters,
        st.integers(1, 3),
        st.sampled_from([None, "1h", "1d"]),
        points,
    )
    inactive = st.builds(
        lambda on, d, p, never: {
            "inactive_for": d,
            "points": p,
            "or_never": never,
            **({"on": on} if on else {}),
        },
        st.one_of(st.none(), event_filters),
        st.sampled_from(DURATIONS),
        points,
        st.booleans(),
    )
    return st.lists(st.one_of(prop, cases, complete, event, freq, inactive), max_size=4)


@st.composite
def models(draw):
    groups = {}
    for gname in draw(st.sampled_from([["fit"], ["fit", "eng"]])):
        rs = draw(rules(gname))
        weighted = draw(st.booleans())
        named = []
        for i, r in enumerate(rs):
            r = {"name": f"{gname} {i}", **r}
            if weighted:
                r["weight"] = draw(st.sampled_from([1, 2, 0.5]))
            named.append(r)
        group = {"rules": named}
        if weighted:
            group["combine"] = "weighted_mean"
        if draw(st.booleans()):
            group["max"] = draw(st.sampled_from([5, 20]))
        if draw(st.booleans()):
            group["min"] = draw(st.sampled_from([-5, 0]))
        group["reset_on_stage"] = draw(st.booleans())
        decay = draw(decays)
        if decay is not None:
            group["decay"] = decay
        groups[gname] = group
    model = {
        "name": "m",
        "scale": draw(st.sampled_from([{"min": 0, "max": 100}, {"min": -10, "max": 15}])),
        "groups": groups,
        "lifecycle": {"entered_at_property": "entered", "stage_property": "st"},
    }
    keep = draw(st.sampled_from([None, True, False]))
    if keep is not None:
        model["lifecycle"]["keep_stage"] = keep
    model["lifecycle"]["stages"] = ["recycled"]
    if draw(st.booleans()):
        model["total"] = {"weights": {g: draw(st.sampled_from([1, 0.5, 2])) for g in groups}}
    exclusions = []
    for i in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            exclusions.append({"name": f"x{i}", "when": draw(contact_conditions)})
        else:
            x = {"name": f"x{i}", "on": draw(event_filters)}
            if draw(st.booleans()):
                x["within"] = draw(st.sampled_from(["1h", "1d"]))
            exclusions.append(x)
    model["exclusions"] = exclusions
    if draw(st.booleans()):  # A within reach of fit's max (validation refuses others)
        a = 10 if groups.get("fit", {}).get("max", 20) >= 10 else 5
        model["grades"] = {"fit": {"A": a, "B": 3, "C": 0, "else": "D"}}
    if draw(st.booleans()):
        model["matrix"] = draw(matrices(model))
    score_fields = ["total", *groups]
    text_fields = ["grade"] if "grades" in model else []
    text_fields += ["matrix", "quadrant"] if "matrix" in model else []
    thresholds = []
    for i in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(score_fields + text_fields))
        if field == "matrix":
            cells = _cells(model["matrix"])
            when = {
                "matrix": draw(
                    st.one_of(
                        st.sampled_from(cells),
                        st.lists(st.sampled_from(cells), min_size=1, max_size=3),
                    )
                )
            }
        elif field == "quadrant":
            named = model["matrix"].get("quadrants", {})
            names = [
                named.get("fit_hot", "Hot & fitting"),
                "Fitting but cold",
                "hot but POOR fit",  # text compares without case
                named.get("unfit_cold", "Cold & poor fit"),
            ]
            when = {"quadrant": draw(st.sampled_from(names))}
        elif field == "grade":
            when = {"grade": draw(st.sampled_from(["A", ["A", "B"], {"ne": "D"}]))}
        else:
            op = draw(st.sampled_from(["gte", "lt", "eq"]))
            # a value the score can reach (validation refuses unreachable stages)
            lo, hi = _range(model, field)
            values = [v for v in (0, 5, 10) if (v <= hi if op != "lt" else v > lo)]
            when = {field: {op: draw(st.sampled_from(values))}}
        th: dict = {"stage": f"S{i}", "when": when}
        if draw(st.integers(0, 3)) == 0:  # a per-phase threshold
            th["from"] = draw(st.sampled_from([["recycled"], ["S0", "recycled"], "S1"]))
        thresholds.append(th)
    if thresholds and draw(st.booleans()):  # a second bar for the same stage, per phase
        pick = draw(st.sampled_from(thresholds))
        if "from" not in pick:
            at = draw(st.integers(0, len(thresholds)))
            thresholds.insert(at, {**pick, "from": ["recycled"]})
    if any(th.get("from") == "S1" for th in thresholds) and len(thresholds) < 2:
        for th in thresholds:
            if th.get("from") == "S1":
                th["from"] = ["recycled"]
    model["thresholds"] = thresholds
    if draw(st.booleans()):
        model["default_stage"] = "lead"
    return model


def _cells(matrix: dict) -> list[str]:
    """Every cell of a drawn matrix."""
    if "letters" in matrix:
        letters = [k for k in matrix["letters"] if k != "else"] + [matrix["letters"]["else"]]
    else:
        letters = ["A", "B", "C", "D"]
    return [f"{lt}{b}" for lt in letters for b in range(1, len(matrix["bands"]) + 2)]


@st.composite
def matrices(draw, model: dict) -> dict:
    """A matrix over the model's groups: the grades' letters or its own, band minimums
    the engagement group can reach, sometimes chosen fitting letters, hot bands, names."""
    names = list(model["groups"])
    matrix: dict = {"engagement": draw(st.sampled_from(names))}
    own = "grades" not in model or draw(st.booleans())
    if own:
        matrix["fit"] = draw(st.sampled_from(names))
        hi = _range(model, matrix["fit"])[1]
        minimums = draw(st.lists(st.sampled_from([8, 4, 1, 0, -2]), min_size=1, unique=True))
        letters = {f"L{i}": m for i, m in enumerate(sorted(minimums, reverse=True)) if m <= hi}
        matrix["letters"] = {**(letters or {"L0": 0}), "else": "Z"}
        letter_names = [*(letters or {"L0": 0}), "Z"]
    else:
        matrix["fit"] = "fit"
        letter_names = ["A", "B", "C", "D"]
    hi = _range(model, matrix["engagement"])[1]
    bands = draw(st.lists(st.sampled_from([10, 5, 2, 0, -3]), min_size=1, unique=True))
    matrix["bands"] = sorted((b for b in bands if b <= hi), reverse=True) or [0]
    if draw(st.booleans()):
        matrix["fitting"] = draw(st.lists(st.sampled_from(letter_names), min_size=1, unique=True))
    if draw(st.booleans()):
        numbers = list(range(1, len(matrix["bands"]) + 2))
        matrix["hot"] = draw(st.lists(st.sampled_from(numbers), min_size=1, unique=True))
    if draw(st.booleans()):
        matrix["quadrants"] = {"fit_hot": "Now", "unfit_cold": "Later"}
    return matrix


@st.composite
def populations(draw, max_contacts: int = 6, max_events: int = 16, min_contacts: int = 1):
    n = draw(st.integers(min_contacts, max_contacts))
    contacts = []
    for i in range(n):
        c = {"id": f"c{i}"}
        for p in ("a", "b", "n"):
            c[p] = draw(st.one_of(st.none(), st.sampled_from(TEXTS)))
        c["entered"] = draw(st.sampled_from(TIME_TEXTS))
        c["st"] = draw(
            st.sampled_from([None, "S0", "S1", "lead", "recycled", " S0", "s0", "other", ""])
        )
        c["own_as_of"] = draw(st.sampled_from([None, "2026-03-01T06:00:00Z", "2026-02-28"]))
        contacts.append(c)
    events = []
    ids = [c["id"] for c in contacts] + ["orphan"]
    for _ in range(draw(st.integers(0, max_events))):
        ts = AS_OF - timedelta(
            seconds=draw(st.sampled_from(SECONDS)) * draw(st.sampled_from([1, 1, -1]))
        )
        e = {
            "contact_id": draw(st.sampled_from(ids)),
            "event_id": draw(st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", " "]))),
            "type": draw(st.sampled_from(TYPES)),
            "ts": ts,
            "url": draw(st.one_of(st.none(), st.sampled_from(TEXTS))),
            "k": draw(st.one_of(st.none(), st.sampled_from(["s1", "s2", "", "S1"]))),
        }
        events.append(e)
        if draw(st.integers(0, 4)) == 0:  # a repeated delivery, exact copy or later
            later = draw(st.sampled_from([timedelta(0), timedelta(seconds=30)]))
            events.append({**e, "ts": e["ts"] + later})
    return contacts, _unambiguous(events)


def _unambiguous(events: list[dict]) -> list[dict]:
    """Repeated deliveries tied on (time, type) with different attributes would make the
    reference depend on input order; keep the first of such ties only."""
    seen: dict[tuple, dict] = {}
    out = []
    for e in events:
        if e["event_id"] is not None and e["event_id"].strip():
            key = (e["contact_id"], e["event_id"], e["ts"], e["type"])
            if key in seen and seen[key] != e:
                continue
            seen.setdefault(key, e)
        out.append(e)
    return out


def _range(model: dict, field: str) -> tuple[float, float]:
    """The range a score is held in: the scale for the total, a group's min and max."""
    if field == "total":
        return model["scale"]["min"], model["scale"]["max"]
    group = model["groups"][field]
    return group.get("min", float("-inf")), group.get("max", float("inf"))
