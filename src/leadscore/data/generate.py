"""Synthetic contacts and event streams with a known ground truth.

A B2B funnel in which a hidden **propensity** per contact (a company part and a
personal part) drives who the contact is (company size, industry, country,
seniority, business or free-mail address, budget), what they do (page views in
sessions, /pricing and /careers visits, e-mails opened and clicked, downloads,
webinars, demo requests, unsubscribes, bounces) and whether they convert.

The files written by :func:`generate` are read by
:func:`leadscore.data.io.load_inputs`: ``contacts`` has ``id`` and properties,
plus the hidden labels ``converted`` (0/1) and ``converted_at`` for backtests
and training (never use them in a scoring model); ``events`` has
``contact_id``, ``event_id``, ``type``, ``ts`` and the attributes ``url``,
``form_id``, ``asset_id``, ``email_id``, ``campaign``, ``session_id``;
``accounts`` has one row per company with contacts (``id``, ``name``, ``domain``
and firmographics). About 40% of the contacts name their account in
``account_id``; the others link by the domain of their e-mail, or not at all.

Every event happens in the year before :data:`END` (2026-01-01T00:00:00Z):
score as of that time. The same ``(contacts, seed, events_per_contact, accounts)``
gives the same files; the accounts are drawn after everything else, from a
generator of their own, so the other columns do not depend on them. Everything
is vectorised with numpy; this module does not use the scoring code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UsageError

END = datetime(2026, 1, 1, tzinfo=UTC)
END_S = int(END.timestamp())
DAY = 86_400
SPAN = 365 * DAY
START_S = END_S - SPAN
TIER_CUTS = np.array([-0.8, 0.0, 0.8])  # propensity tiers: low, mid-low, mid-high, high
FORMATS = ("parquet", "csv")
ROW_GROUP = 1_000_000
# Share of the realistic mess (named so tests and docs can refer to them).
DUPLICATE_DELIVERY_RATE = 0.001  # events delivered twice with the same event_id
BLANK_RATE = {
    "first_name": 0.01,
    "last_name": 0.015,
    "job_title": 0.03,
    "company": 0.02,
    "country": 0.02,
    "phone": 0.25,
    "industry": 0.05,
    "employees": 0.05,
    "budget": 0.55,
}

Report = Callable[[str, float], None]  # (what is being done now, share of the work just finished)


@dataclass(frozen=True)
class Synthetic:
    """Generated tables and the hidden propensity behind them (one per contact)."""

    contacts: pa.Table
    events: pa.Table
    propensity: np.ndarray
    accounts: pa.Table | None = None


# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> list[str]:
    """A list from one line of ``|``-separated words (keeps the vocabulary compact)."""
    return [w.strip() for w in text.split("|")]


def _tilt(base: list[float], favoured: set[int], factors=(0.5, 0.9, 1.3, 1.8)) -> list[list[float]]:
    """Per-tier weights: the favoured categories grow with propensity, the others shrink."""
    return [[w * (f if i in favoured else 1 / f) for i, w in enumerate(base)] for f in factors]


COUNTRIES = _words("US|GB|FR|DE|CA|BE|CH|NL|ES|IT|IN|BR|AU|SG|JP|MX|PL|SE")
COUNTRY_PHONE = _words("1|44|33|49|1|32|41|31|34|39|91|55|61|65|81|52|48|46")
COUNTRY_TLD = _words(
    ".com|.co.uk|.fr|.de|.ca|.be|.ch|.nl|.es|.it|.in|.com.br|.com.au|.sg|.jp|.mx|.pl|.se"
)
COUNTRY_WEIGHTS = _tilt([20, 8, 8, 7, 4, 2, 2, 3, 3, 3, 10, 5, 3, 2, 3, 3, 2, 2], set(range(7)))
INDUSTRIES = _words(
    "Software|Financial Services|Healthcare|Manufacturing|Retail|Education|Government|Media|"
    "Consulting|Logistics|Energy|Non-profit"
)
INDUSTRY_WEIGHTS = _tilt([14, 9, 8, 10, 9, 8, 5, 6, 9, 6, 5, 4], {0, 1, 2})
SOURCES = _words(
    "Organic Search|Paid Search|Paid Social|Referral|Direct Traffic|Email Marketing|Events|Partner"
)
SOURCE_WEIGHTS = _tilt([25, 18, 14, 8, 15, 8, 6, 6], {0, 3, 6, 7})
TITLE_GROUPS = [  # by seniority: C-level, VP, head/director, manager, individual, student
    _words("CEO|CTO|CFO|CMO|COO|Founder|Co-founder|Chief Revenue Officer|Directeur Général"),
    _words("VP Sales|VP Marketing|VP Engineering|VP Operations|Vice President, Finance"),
    _words(
        "Head of Growth|Head of Sales|Head of Marketing|Director of IT|Marketing Director|"
        "Sales Director|Directeur Commercial|Director of Operations"
    ),
    _words(
        "Marketing Manager|Sales Manager|Product Manager|IT Manager|Account Manager|"
        "Operations Manager|Team Lead"
    ),
    _words(
        "Software Engineer|Data Analyst|Marketing Specialist|Sales Representative|Accountant|"
        "Consultant|Designer|Business Analyst|SDR"
    ),
    _words("Student|Intern|Étudiant|PhD Student|Marketing Intern"),
]
TITLES = [t for group in TITLE_GROUPS for t in group]
TITLE_RANGES = [
    (sum(len(g) for g in TITLE_GROUPS[:i]), len(TITLE_GROUPS[i])) for i in range(len(TITLE_GROUPS))
]
STUDENT = len(TITLE_GROUPS) - 1
SENIORITY_WEIGHTS = [
    [2, 2, 5, 15, 56, 20],
    [4, 4, 9, 25, 50, 8],
    [8, 8, 15, 30, 36, 3],
    [14, 12, 22, 27, 24, 1],
]
# (as written, as in an e-mail address)
FIRST_NAMES = [
    (n, n.lower())
    for n in _words(
        "Emma|Liam|Olivia|Noah|Ava|Lucas|Mia|Hugo|Sofia|Luca|Hannah|Jonas|Anna|Felix|Priya|Arjun|"
        "Aisha|Wei|Yuki|Hiroshi|Carlos|Ana|Sven|Ingrid|Jan|Katarzyna|Ahmed|Fatima|Olga|Tom|Sarah|"
        "David|Julia|Paul|Laura|Marco|Nina"
    )
]
FIRST_NAMES += list(
    zip(_words("Léa|Chloé|Zoë|María|João"), _words("lea|chloe|zoe|maria|joao"), strict=True)
)
LAST_NAMES = [
    (n, n.lower())
    for n in _words(
        "Smith|Johnson|Brown|Martin|Bernard|Dubois|Schmidt|Rossi|Silva|Santos|Patel|Sharma|Kumar|"
        "Chen|Wang|Tanaka|Sato|Kowalski|Nowak|Andersson|Johansson|Jansen|Peeters|Janssens|Murphy|"
        "Taylor|Wilson|Nguyen|Kim|Lee|Lopez|Hernandez|Moreau|Fischer|Weber"
    )
]
LAST_NAMES += list(
    zip(
        _words("Müller|García|de Vries|O'Brien|Lefèvre"),
        _words("muller|garcia|devries|obrien|lefevre"),
        strict=True,
    )
)
BUSINESS, FREE, DISPOSABLE, RIVAL, INVALID, BLANK = range(6)  # kinds of e-mail address
EMAIL_KIND_WEIGHTS = [  # business, free, disposable, rival, invalid, blank
    [45, 45, 4, 0.3, 1.5, 1.5],
    [65, 30, 1.5, 0.2, 0.8, 1],
    [78, 19, 0.6, 0.2, 0.5, 1],
    [86, 12, 0.2, 0.2, 0.3, 1],
]
FREE_MAIL = _words(
    "gmail.com|yahoo.com|hotmail.com|outlook.com|gmx.de|orange.fr|yahoo.fr|icloud.com"
)
DISPOSABLE_MAIL = _words("mailinator.com|10minutemail.com|guerrillamail.com|yopmail.com")
RIVALS = _words("rival.example|competitor.example")
_PREFIX = _words(
    "Blue|North|Bright|Silver|Green|Red|Iron|Swift|Clear|Deep|Quantum|Nova|Apex|Summit|Atlas|"
    "Pixel|Vector|Lumen|Orbit|Cedar|Maple|Granite|Harbor|River|Stone|Sun|Star|Polar|Alpine|"
    "Coral|Falcon|Eagle|Fox|Wolf|Oak|Pine|Sky|Terra|Zen|Echo"
)
_CORE = _words(
    "peak|wave|line|path|gate|field|point|bridge|stack|forge|leaf|rock|light|craft|sign|mark|"
    "spring|port|view|base|shift|core|grid|loop|yard|wise|mind|bay|ridge|flow"
)
_SUFFIX = _words(
    "Labs|Group|Systems|Analytics|Software|Technologies|Partners|Solutions|Digital|Networks|"
    "Health|Capital|Logistics|Energy|Media|Works|Cloud|Data|Robotics|Bio"
)
MAX_COMPANIES = len(_PREFIX) * len(_CORE) * len(_SUFFIX)  # names without a number


def _company_parts(index: np.ndarray):
    """(prefix, core, suffix, series) of company names; series 0 for the first
    MAX_COMPANIES names, then 1, 2, ... ("Bluepeak Labs 2") when more are asked for."""
    series, index = np.divmod(index, MAX_COMPANIES)
    p, rest = np.divmod(index, len(_CORE) * len(_SUFFIX))
    c, s = np.divmod(rest, len(_SUFFIX))
    return p, c, s, series


def _company_names(index: np.ndarray) -> list[str]:
    parts = zip(*_company_parts(index), strict=True)
    return [
        f"{_PREFIX[p]}{_CORE[c]} {_SUFFIX[s]}" + (f" {k + 1}" if k else "") for p, c, s, k in parts
    ]


def _company_domains(index: np.ndarray, country: np.ndarray) -> list[str]:
    parts = zip(index, *_company_parts(index), country, strict=True)
    return [
        f"{_PREFIX[p]}{_CORE[c]}{_SUFFIX[s]}{k + 1 if k else ''}".lower()
        + (".com" if i % 3 == 0 else COUNTRY_TLD[t])
        for i, p, c, s, k, t in parts
    ]


EVENT_TYPES = _words(
    "page_view|email_sent|email_open|email_click|email_bounce|unsubscribe|form_submit|"
    "asset_download|webinar_registered|webinar_attended"
)
URLS = _words(
    "/|/product|/features|/pricing|/blog|/blog/lead-scoring-101|/blog/mql-vs-sql|"
    "/blog/intent-data|/customers|/integrations|/docs|/careers|/about|/security|/webinars|"
    "/resources|/demo|/pricing?utm_source=newsletter"
)
# Weights over URLS per propensity tier: the keen read /pricing, the job seekers /careers.
PAGE_WEIGHTS = [
    [20, 6, 4, 2, 10, 6, 4, 4, 2, 2, 3, 12, 6, 1, 2, 3, 0.3, 0],
    [18, 8, 6, 5, 9, 5, 4, 4, 3, 3, 4, 5, 4, 1, 2, 3, 0.6, 0],
    [15, 10, 8, 9, 7, 4, 4, 3, 5, 5, 5, 2, 3, 2, 3, 3, 1.2, 0],
    [12, 11, 9, 15, 5, 3, 3, 3, 6, 6, 6, 0.6, 2, 3, 3, 3, 2, 0],
]
CLICK_WEIGHTS = [
    [0, 3, 0, 0, 0, 10, 10, 10, 0, 0, 0, 1, 0, 0, 5, 0, 0, 2],
    [0, 4, 0, 0, 0, 9, 9, 9, 0, 0, 0, 0.5, 0, 0, 5, 0, 0, 4],
    [0, 5, 0, 0, 0, 7, 7, 7, 0, 0, 0, 0.2, 0, 0, 6, 0, 0, 7],
    [0, 6, 0, 0, 0, 5, 5, 5, 0, 0, 0, 0.1, 0, 0, 6, 0, 0, 10],
]
CAMPAIGNS = _words("newsletter|nurture|product-update|webinar-invite|promo")
WEEKS = 53
EMAIL_IDS = [f"{c}-w{w:02d}" for c in CAMPAIGNS for w in range(WEEKS)]
FORMS = _words("newsletter|content-download|demo|contact-sales")
ASSETS = _words(
    "ebook-lead-scoring|whitepaper-intent-data|case-study-northgate|checklist-mql|"
    "report-benchmarks-2025|template-scoring-grid"
)
WEBINARS = _words("webinar-q1-scoring|webinar-q2-abm|webinar-q3-revops|webinar-q4-ai")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _pick(rng: np.random.Generator, score: np.ndarray, table: list[list[float]]) -> np.ndarray:
    """One category per row, with weights ``table[tier]`` for the row's propensity tier."""
    cum = np.cumsum(np.asarray(table, dtype=float), axis=1)
    cum /= cum[:, -1:]
    tier = np.searchsorted(TIER_CUTS, score)
    u = rng.random(len(score))
    out = np.empty(len(score), np.int32)
    for t in range(len(table)):
        rows = tier == t
        out[rows] = np.searchsorted(cum[t], u[rows], side="right")
    return np.minimum(out, cum.shape[1] - 1)


def _texts(words: list[str] | pa.Array, index: np.ndarray, blank: np.ndarray | None = None):
    """A dictionary-encoded text column: ``words[index]``, null where ``index`` < 0 or blank."""
    mask = index < 0 if blank is None else (index < 0) | blank
    indices = pa.array(np.where(mask, 0, index).astype(np.int32), mask=mask)
    dictionary = words if isinstance(words, pa.Array) else pa.array(words, pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _uniform_ts(rng, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (rng.random(len(lo)) * np.maximum(hi - lo, 0)).astype(np.int64)


# --------------------------------------------------------------------------- contacts


def _contacts(rng: np.random.Generator, n: int, companies: int | None = None) -> tuple[dict, dict]:
    """Contact columns and the hidden per-contact quantities the events need."""
    if companies is None:
        n_comp, names = int(np.clip(n // 8, 1, MAX_COMPANIES)), MAX_COMPANIES
    else:
        n_comp = companies
        names = MAX_COMPANIES * -(-n_comp // MAX_COMPANIES)  # numbered series beyond
    comp_z = rng.normal(size=n_comp)
    comp_name = rng.choice(names, size=n_comp, replace=False)
    comp_country = _pick(rng, comp_z, COUNTRY_WEIGHTS)
    comp_industry = _pick(rng, comp_z, INDUSTRY_WEIGHTS)
    log_emp = rng.normal(3.6 + 0.6 * np.clip(comp_z, -1.5, 1.5), 1.4)
    comp_employees = np.clip(np.exp(log_emp), 1, 250_000).round().astype(np.int64)

    # Contacts join companies unevenly (a few large accounts, many small ones).
    big = rng.random(n) < 0.2
    company = np.where(big, (rng.zipf(1.5, size=n) - 1) % n_comp, rng.integers(0, n_comp, size=n))
    person_z = rng.normal(size=n)
    z = 0.6 * comp_z[company] + 0.8 * person_z

    seniority = _pick(rng, z, SENIORITY_WEIGHTS)
    title = np.empty(n, np.int32)
    for level, (first, count) in enumerate(TITLE_RANGES):
        rows = seniority == level
        title[rows] = first + rng.integers(0, count, size=int(rows.sum()))
    first = rng.integers(0, len(FIRST_NAMES), size=n)
    last = rng.integers(0, len(LAST_NAMES), size=n)
    email_kind = _pick(rng, z, EMAIL_KIND_WEIGHTS)
    # Students write from their personal address.
    email_kind = np.where((seniority == STUDENT) & (email_kind == BUSINESS), FREE, email_kind)
    country = comp_country[company]

    blank = {k: rng.random(n) < p for k, p in BLANK_RATE.items()}
    created = START_S + (rng.random(n) * (SPAN - DAY)).astype(np.int64)
    budget = np.exp(8.4 + 0.7 * z + 0.25 * np.log(comp_employees[company]) + rng.normal(0, 0.7, n))
    budget = (np.round(budget / 500) * 500).astype(np.int64)
    employees = comp_employees[company]

    ids = _numbered("c", np.arange(1, n + 1), max(7, len(str(n))))
    domains = pa.array(_company_domains(comp_name, comp_country))
    email = _emails(rng, n, first, last, email_kind, domains.take(pa.array(company)))
    cc = np.array(COUNTRY_PHONE)[country]
    phone = pc.binary_join_element_wise(
        pa.array(np.where(rng.random(n) < 0.05, "00", "+")),
        pa.array(cc),
        pc.cast(
            pa.array(rng.integers(2 * 10**8, 10**9, size=n) * np.where(cc == "1", 10, 1)),
            pa.string(),
        ),
        "",
    )
    country_codes = pa.array(COUNTRIES + [c.lower() for c in COUNTRIES])
    country_idx = country + len(COUNTRIES) * (rng.random(n) < 0.01)  # a few lower-case codes
    columns = {
        "id": ids,
        "email": email,
        "first_name": _texts([f for f, _ in FIRST_NAMES], first, blank["first_name"]),
        "last_name": _texts([name for name, _ in LAST_NAMES], last, blank["last_name"]),
        "company": _texts(pa.array(_company_names(comp_name)), company, blank["company"]),
        "job_title": _texts(TITLES, title, blank["job_title"]),
        "country": _texts(country_codes, country_idx, blank["country"]),
        "phone": pc.if_else(pa.array(blank["phone"]), pa.scalar(None, pa.string()), phone),
        "employees": pa.array(employees, mask=blank["employees"]),
        "industry": _texts(INDUSTRIES, comp_industry[company], blank["industry"]),
        "budget": pa.array(budget, mask=blank["budget"]),
        "source": _texts(SOURCES, _pick(rng, z, SOURCE_WEIGHTS)),
        "lifecycle_stage": _texts(
            ["subscriber", "lead"], (rng.random(n) > 0.35 - 0.1 * np.tanh(z)).astype(np.int32)
        ),
        "created_at": pa.array(created, pa.timestamp("s", tz="UTC")),
    }
    hidden = {"z": z, "created": created, "email_kind": email_kind, "company": company}
    hidden["companies"] = {
        "z": comp_z,
        "name": comp_name,
        "country": comp_country,
        "industry": comp_industry,
        "employees": comp_employees,
        "domain": domains,
    }
    return columns, hidden


def _emails(rng, n, first, last, kind, business: pa.Array) -> pa.Array:
    first_slug = pa.array(np.array([s for _, s in FIRST_NAMES])[first])
    last_slug = pa.array(np.array([s for _, s in LAST_NAMES])[last])
    variant = rng.integers(0, 3, size=n)
    local = pc.choose(
        pa.array(variant.astype(np.int8)),
        pc.binary_join_element_wise(first_slug, last_slug, "."),
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(first_slug, 0, 1), last_slug, ""),
        pc.binary_join_element_wise(
            first_slug, pc.cast(pa.array(rng.integers(10, 99, size=n)), pa.string()), ""
        ),
    )
    free = pa.array(np.array(FREE_MAIL)[rng.integers(0, len(FREE_MAIL), size=n)])
    disposable = pa.array(np.array(DISPOSABLE_MAIL)[rng.integers(0, len(DISPOSABLE_MAIL), size=n)])
    rival = pa.array(np.array(RIVALS)[rng.integers(0, len(RIVALS), size=n)])
    domain = pc.choose(
        pa.array(np.minimum(kind, INVALID).astype(np.int8)),
        business,
        free,
        disposable,
        rival,
        business,
    )
    address = pc.binary_join_element_wise(local, domain, "@")
    broken = pc.binary_join_element_wise(local, domain, ".")  # '@' lost on a form
    out = pc.if_else(pa.array(kind == INVALID), broken, address)
    return pc.if_else(pa.array(kind == BLANK), pa.scalar(None, pa.string()), out)


# --------------------------------------------------------------------------- events


_EVENT_DTYPES = {"contact": np.int32, "ts": np.int64, "type": np.int8, "url": np.int8,
    "form": np.int8, "asset": np.int8, "email": np.int16, "campaign": np.int8,
    "session": np.int32}  # fmt: skip


class _Events:
    """Columns of events collected part by part; attribute codes are -1 when absent."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, contact: np.ndarray, ts: np.ndarray, type_: str, **attrs) -> None:
        m = len(contact)
        values = {"contact": contact, "ts": ts, "type": EVENT_TYPES.index(type_), **attrs}
        self.parts.append(
            {
                f: np.broadcast_to(np.asarray(values.get(f, -1), t), (m,))
                for f, t in _EVENT_DTYPES.items()
            }
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {f: np.concatenate([p[f] for p in self.parts]) for f in _EVENT_DTYPES}


def _events(rng: np.random.Generator, hidden: dict, per_contact: float) -> dict[str, np.ndarray]:
    z, created, kind = hidden["z"], hidden["created"], hidden["email_kind"]
    n = len(z)
    f = per_contact / 20.0  # repeated activity scales with the events asked for
    once = min(1.0, f)  # one-off events (sign-up, demo, unsubscribe) less so
    act = np.exp(0.6 * z + 0.5 * rng.normal(size=n) - 0.305)  # mean 1
    # The last day a contact is active: near the end for keen contacts, early for others.
    last = created + ((END_S - created) * rng.random(n) ** (1 / (1 + 2 * np.exp(z)))).astype(
        np.int64
    )
    out = _Events()
    url_of = {u: i for i, u in enumerate(URLS)}

    # Web sessions of page views.
    n_sessions = rng.poisson(3.4 * f * act)
    s_contact = np.repeat(np.arange(n), n_sessions)
    s_start = _uniform_ts(rng, created[s_contact], last[s_contact])
    pages = 1 + rng.poisson(1.5, size=len(s_contact))
    v_session = np.repeat(np.arange(len(s_contact)), pages)
    gaps = rng.exponential(75.0, size=len(v_session)).astype(np.int64)
    within = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(pages) - pages], pages)
    v_contact = s_contact[v_session]
    out.add(
        v_contact,
        s_start[v_session] + within,
        "page_view",
        url=_pick(rng, z[v_contact], PAGE_WEIGHTS),
        session=v_session,
    )

    # Marketing e-mail: everyone with an address gets sends; the keen open and click.
    unsub = np.where(
        rng.random(n) < once * _sigmoid(-2.6 - 0.9 * z),
        _uniform_ts(rng, created, np.full(n, END_S)),
        END_S + 1,
    )
    sends = rng.poisson(6.5 * f, size=n) * (kind != BLANK)
    sends = np.where(kind == INVALID, np.minimum(sends, 1), sends)  # suppressed after a bounce
    e_contact = np.repeat(np.arange(n), sends)
    e_ts = _uniform_ts(rng, created[e_contact], np.full(len(e_contact), END_S))
    keep = e_ts < unsub[e_contact]
    e_contact, e_ts = e_contact[keep], e_ts[keep]
    campaign = rng.integers(0, len(CAMPAIGNS), size=len(e_contact))
    email_id = campaign * WEEKS + (e_ts - START_S) // (7 * DAY)
    out.add(e_contact, e_ts, "email_sent", email=email_id, campaign=campaign)
    bounced = kind[e_contact] == INVALID
    out.add(
        e_contact[bounced],
        e_ts[bounced] + 60,
        "email_bounce",
        email=email_id[bounced],
        campaign=campaign[bounced],
    )
    zc = z[e_contact]
    opened = (
        ~bounced
        & (e_ts <= last[e_contact] + 7 * DAY)
        & (rng.random(len(zc)) < _sigmoid(-0.3 + 0.7 * zc))
    )
    open_ts = e_ts + rng.exponential(6 * 3600, size=len(zc)).astype(np.int64)
    out.add(
        e_contact[opened],
        open_ts[opened],
        "email_open",
        email=email_id[opened],
        campaign=campaign[opened],
    )
    clicked = opened & (rng.random(len(zc)) < _sigmoid(-1.2 + 0.7 * zc))
    out.add(
        e_contact[clicked],
        open_ts[clicked] + 20,
        "email_click",
        email=email_id[clicked],
        campaign=campaign[clicked],
        url=_pick(rng, zc[clicked], CLICK_WEIGHTS),
    )
    stop = unsub <= END_S
    out.add(np.flatnonzero(stop), unsub[stop], "unsubscribe")

    # Gated content: a form, then the download.
    downloads = rng.poisson(0.8 * f * act)
    d_contact = np.repeat(np.arange(n), downloads)
    d_ts = _uniform_ts(rng, created[d_contact], last[d_contact])
    asset = rng.integers(0, len(ASSETS), size=len(d_contact))
    out.add(
        d_contact,
        d_ts,
        "form_submit",
        form=FORMS.index("content-download"),
        url=url_of["/resources"],
        asset=asset,
    )
    out.add(d_contact, d_ts + 5, "asset_download", asset=asset)

    # Webinars: registration, attendance by the keen.
    regs = rng.poisson(0.35 * f * act)
    w_contact = np.repeat(np.arange(n), regs)
    w_ts = _uniform_ts(rng, created[w_contact], last[w_contact])
    webinar = len(ASSETS) + rng.integers(0, len(WEBINARS), size=len(w_contact))
    out.add(
        w_contact,
        w_ts,
        "webinar_registered",
        asset=webinar,
        campaign=CAMPAIGNS.index("webinar-invite"),
    )
    went = rng.random(len(w_contact)) < _sigmoid(-0.2 + 0.8 * z[w_contact])
    out.add(w_contact[went], w_ts[went] + 3 * DAY, "webinar_attended", asset=webinar[went])

    # Newsletter sign-ups and demo requests (some twice).
    news = np.flatnonzero(rng.random(n) < 0.25 * once)
    out.add(
        news,
        _uniform_ts(rng, created[news], last[news]),
        "form_submit",
        form=FORMS.index("newsletter"),
        url=url_of["/blog"],
    )
    demo = rng.random(n) < once * _sigmoid(-3.1 + 1.4 * z)
    who = np.flatnonzero(demo)
    demo_ts = np.full(n, END_S + 1)
    demo_ts[who] = _uniform_ts(rng, created[who], last[who])
    form = np.where(rng.random(len(who)) < 0.7, FORMS.index("demo"), FORMS.index("contact-sales"))
    out.add(who, demo_ts[who], "form_submit", form=form, url=url_of["/demo"])
    again = rng.random(len(who)) < 0.15
    out.add(
        who[again],
        demo_ts[who[again]] + rng.integers(DAY, 10 * DAY, size=int(again.sum())),
        "form_submit",
        form=form[again],
        url=url_of["/demo"],
    )
    hidden["demo_ts"] = demo_ts
    hidden["last"] = last
    return out.columns()


def _outcome(rng: np.random.Generator, hidden: dict) -> tuple[np.ndarray, np.ndarray]:
    z, created, demo_ts, last = hidden["z"], hidden["created"], hidden["demo_ts"], hidden["last"]
    n = len(z)
    asked = demo_ts <= END_S
    p = _sigmoid(-2.9 + 1.1 * z + 1.8 * asked)
    wins = rng.random(n) < p
    after_demo = demo_ts + rng.exponential(21 * DAY, size=n).astype(np.int64)
    otherwise = _uniform_ts(rng, created, last + 30 * DAY)
    when = np.where(asked, after_demo, otherwise)
    converted = wins & (when <= END_S)  # a deal after the data ends is not known yet
    return converted, when


# --------------------------------------------------------------------------- accounts

ACCOUNT_LINK_RATE = 0.4  # contacts that name their account in account_id
STALE_LINK_RATE = 0.01  # of those, ids that name no account (a company merged or deleted)
CUSTOMER_RATE = 0.03  # accounts that already buy (customer: yes)
ACCOUNT_DOMAIN_MESS = {  # shares of accounts whose domain is written badly, in draw order
    "free": 0.01,  # a free-mail domain (gmail.com, ...): links no contact
    "blank": 0.02,
    "url": 0.02,  # https://www.acme.com/
    "upper": 0.01,  # ACME.COM
}
ACCOUNT_BLANK_RATE = {"industry": 0.03, "employees": 0.03, "country": 0.02, "revenue": 0.1,
    "technologies": 0.05}  # fmt: skip
REVENUE_PER_EMPLOYEE = 150_000  # median yearly revenue per employee
TECHNOLOGIES = _words(
    "Salesforce|HubSpot|Marketo|Pardot|Slack|Microsoft Teams|Jira|Zendesk|Intercom|AWS|Azure|"
    "Google Cloud|Snowflake|Databricks|Segment|Stripe|Shopify|SAP|Workday|Okta"
)


def _accounts(rng: np.random.Generator, hidden: dict) -> tuple[pa.Table, pa.Array]:
    """One account per company with contacts, and each contact's explicit ``account_id``
    (null for the contacts left to link by e-mail domain)."""
    comp, company = hidden["companies"], hidden["company"]
    n = len(company)
    has = np.flatnonzero(np.bincount(company, minlength=len(comp["z"])) > 0)
    m = len(has)
    number = np.zeros(len(comp["z"]), np.int64)
    number[has] = np.arange(1, m + 1)
    width = max(6, len(str(m)))
    z = comp["z"][has]

    domain = np.array(comp["domain"].take(pa.array(has)).to_pylist(), dtype=object)
    u = rng.random(m)
    cuts = np.cumsum(list(ACCOUNT_DOMAIN_MESS.values()))
    kind = np.searchsorted(cuts, u, side="right")  # 0 free, 1 blank, 2 url, 3 upper, 4 clean
    free = np.array(FREE_MAIL, dtype=object)[rng.integers(0, len(FREE_MAIL), size=m)]
    domain = np.where(kind == 0, free, domain)
    domain = np.where(kind == 2, "https://www." + domain.astype(str) + "/", domain)
    domain = np.where(kind == 3, np.char.upper(domain.astype(str)), domain)
    domain_col = pa.array(domain.tolist(), pa.string(), mask=kind == 1)

    blank = {k: rng.random(m) < p for k, p in ACCOUNT_BLANK_RATE.items()}
    employees = comp["employees"][has]
    revenue = employees * REVENUE_PER_EMPLOYEE * np.exp(0.2 * z + rng.normal(0, 0.5, size=m))
    revenue = np.maximum(10_000, np.round(revenue / 10_000) * 10_000).astype(np.int64)
    # a few tools each, keener companies a few more; random keys sorted = a random subset
    k = np.minimum(1 + rng.poisson(1.5 + 0.5 * np.clip(z, -1, 2)), 6)
    order = np.argsort(rng.random((m, len(TECHNOLOGIES))), axis=1)
    tools = [";".join(TECHNOLOGIES[t] for t in row[:j]) for row, j in zip(order, k, strict=True)]
    customer = rng.random(m) < CUSTOMER_RATE

    accounts = pa.table(
        {
            "id": _numbered("a", np.arange(1, m + 1), width),
            "name": pa.array(_company_names(comp["name"][has])),
            "domain": domain_col,
            "industry": _texts(INDUSTRIES, comp["industry"][has], blank["industry"]),
            "employees": pa.array(employees, mask=blank["employees"]),
            "country": _texts(COUNTRIES, comp["country"][has], blank["country"]),
            "revenue": pa.array(revenue, mask=blank["revenue"]),
            "technologies": pa.array(tools, pa.string(), mask=blank["technologies"]),
            "customer": _texts(["no", "yes"], customer.astype(np.int32)),
        }
    )
    named = rng.random(n) < ACCOUNT_LINK_RATE
    stale = rng.random(n) < STALE_LINK_RATE
    ref = np.where(stale, m + 1 + rng.integers(0, max(m, 1), size=n), number[company])
    account_id = pc.if_else(
        pa.array(named), _numbered("a", ref, width), pa.scalar(None, pa.string())
    )
    return accounts, account_id


# --------------------------------------------------------------------------- assembly


def _events_table(cols: dict[str, np.ndarray], contact_ids: pa.Array, rng) -> pa.Table:
    # Events up to END in chronological order (ties by contact), a few delivered twice;
    # one gather per column.
    kept = np.flatnonzero(cols["ts"] <= END_S)
    key = ((cols["ts"][kept] - START_S) << 32) + cols["contact"][kept]
    order = kept[np.argsort(key)]
    m = len(order)
    repeat = np.where(rng.random(m) < DUPLICATE_DELIVERY_RATE, 2, 1)
    take = np.repeat(order, repeat)
    cols = {k: v[take] for k, v in cols.items()}
    n_sessions = int(cols["session"].max(initial=-1)) + 1
    return pa.table(
        {
            "contact_id": _texts(contact_ids, cols["contact"]),
            "event_id": _numbered("e", np.repeat(np.arange(1, m + 1), repeat), max(8, len(str(m)))),
            "type": _texts(EVENT_TYPES, cols["type"]),
            "ts": pa.array(cols["ts"], pa.timestamp("s", tz="UTC")),
            "url": _texts(URLS, cols["url"]),
            "form_id": _texts(FORMS, cols["form"]),
            "asset_id": _texts(ASSETS + WEBINARS, cols["asset"]),
            "email_id": _texts(EMAIL_IDS, cols["email"]),
            "campaign": _texts(CAMPAIGNS, cols["campaign"]),
            "session_id": _texts(_numbered("s", np.arange(1, n_sessions + 1), 8), cols["session"]),
        }
    )


def simulate(
    contacts: int,
    seed: int,
    *,
    events_per_contact: float = 20,
    accounts: int | None = None,
    report: Report | None = None,
) -> Synthetic:
    """Generate the tables in memory (see :func:`generate` to write them).

    ``accounts`` is the number of companies the contacts work for (default: one per
    8 contacts, at most MAX_COMPANIES); the accounts table has those with contacts.
    """
    if isinstance(contacts, bool) or not isinstance(contacts, int) or contacts < 1:
        raise UsageError(
            f"the number of contacts must be a whole number of at least 1, got {contacts!r}"
        )
    if accounts is not None and (
        isinstance(accounts, bool) or not isinstance(accounts, int) or accounts < 1
    ):
        raise UsageError(
            f"the number of accounts must be a whole number of at least 1, got {accounts!r}"
        )
    if not 0 <= events_per_contact <= 10_000:
        raise UsageError(
            f"events per contact must be between 0 and 10000, got {events_per_contact!r}"
        )
    say = report or (lambda _what, _share: None)
    rng = np.random.default_rng(seed)
    columns, hidden = _contacts(rng, contacts, accounts)
    say("making events", 0.1)
    cols = _events(rng, hidden, events_per_contact)
    say("ordering events", 0.25)
    converted, when = _outcome(rng, hidden)
    columns["converted"] = pa.array(converted.astype(np.int8))
    columns["converted_at"] = pa.array(when, pa.timestamp("s", tz="UTC"), mask=~converted)
    events = _events_table(cols, columns["id"], rng)
    # Accounts last, from a generator of their own: the columns above stay as they were.
    account_table, columns["account_id"] = _accounts(np.random.default_rng([seed, 1]), hidden)
    say("writing files", 0.15)
    return Synthetic(
        contacts=pa.table(columns),
        events=events,
        propensity=hidden["z"],
        accounts=account_table,
    )


def _for_file(table: pa.Table, fmt: str) -> pa.Table:
    """Large dictionaries (contact and session ids) as plain text; for CSV every dictionary
    column as text and times as ISO 8601 (``2025-03-01T14:30:00Z``)."""
    out = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if fmt == "csv" and pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_dictionary(column.type) and (
            fmt == "csv" or len(column.chunk(0).dictionary) > 1 << 16
        ):
            column = column.cast(pa.string())
        out[name] = column
    return pa.table(out)


def _write(table: pa.Table, path: Path, fmt: str, say: Report, share: float) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.partial")
    steps = max(1, -(-table.num_rows // ROW_GROUP))
    schema = _for_file(table.slice(0, 0), fmt).schema
    if fmt == "parquet":
        # Times ascend and ids share prefixes: delta encodings keep the file small.
        delta = {"ts": "DELTA_BINARY_PACKED", "event_id": "DELTA_BYTE_ARRAY"}
        delta = {c: e for c, e in delta.items() if c in schema.names}
        writer = pq.ParquetWriter(
            tmp,
            schema,
            use_dictionary=[c for c in schema.names if c not in delta],
            column_encoding=delta or None,
        )
    else:
        writer = pcsv.CSVWriter(tmp, schema)
    with writer:
        for start in range(0, max(table.num_rows, 1), ROW_GROUP):
            writer.write_table(_for_file(table.slice(start, ROW_GROUP), fmt))
            say(f"writing {path.name}", share / steps)
    tmp.replace(path)


def accounts_path(out_dir: str | Path, fmt: str = "parquet") -> Path:
    """Where :func:`write` puts the accounts: ``accounts.<fmt>`` beside the contacts."""
    return Path(out_dir) / f"accounts.{fmt}"


def write(
    data: Synthetic, out_dir: str | Path, *, fmt: str = "parquet", report: Report | None = None
) -> tuple[Path, Path]:
    """Write ``contacts.<fmt>``, ``events.<fmt>`` and ``accounts.<fmt>`` into ``out_dir``
    (created if needed); return the contacts' and the events' paths (the accounts' is
    :func:`accounts_path`)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use parquet or csv")
    say = report or (lambda _what, _share: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{str(out)!r} is a file; give a folder for the generated data")
    out.mkdir(parents=True, exist_ok=True)
    contacts_path, events_path = out / f"contacts.{fmt}", out / f"events.{fmt}"
    _write(data.contacts, contacts_path, fmt, say, 0.04)
    if data.accounts is not None:
        _write(data.accounts, accounts_path(out, fmt), fmt, say, 0.01)
    else:
        say("writing files", 0.01)
    _write(data.events, events_path, fmt, say, 0.45)
    return contacts_path, events_path


def generate(
    contacts: int,
    seed: int,
    out_dir: str | Path,
    *,
    events_per_contact: float = 20,
    accounts: int | None = None,
    fmt: str = "parquet",
    report: Report | None = None,
) -> tuple[Path, Path]:
    """Write ``contacts.<fmt>``, ``events.<fmt>`` and ``accounts.<fmt>`` into ``out_dir``;
    return the contacts' and the events' paths (the accounts are at
    :func:`accounts_path`).

    ``events_per_contact`` is the average number of events per contact (the
    count varies with each contact's propensity); ``accounts`` the number of
    companies (see :func:`simulate`). ``report(what, share)`` is called as work
    is done, the shares adding up to 1.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use parquet or csv")
    data = simulate(
        contacts, seed, events_per_contact=events_per_contact, accounts=accounts, report=report
    )
    return write(data, out_dir, fmt=fmt, report=report)
