"""Figures about an enriched contacts table, for ``leadscore enrich``'s summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from .batch import q

TOP = 8  # values listed per breakdown, the rest summed as "other"


@dataclass
class Summary:
    contacts: int
    counts: dict[str, int] = field(default_factory=dict)  # label -> count
    breakdowns: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def share(self, part: str, whole: str) -> float | None:
        den = self.counts.get(whole, 0)
        return None if not den else self.counts.get(part, 0) / den


def _count(con, table: str, where: str) -> int:
    return con.execute(f"SELECT count(*) FROM {q(table)} WHERE {where}").fetchone()[0]


def _breakdown(con, table: str, column: str) -> list[tuple[str, int]]:
    rows = con.execute(
        f"SELECT {q(column)}, count(*) AS n FROM {q(table)} WHERE {q(column)} IS NOT NULL "
        f"GROUP BY 1 ORDER BY n DESC, 1"
    ).fetchall()
    head = [(str(v), n) for v, n in rows[:TOP]]
    rest = sum(n for _, n in rows[TOP:])
    return head + ([("other", rest)] if rest else [])


def summarise(con, table: str = "contacts") -> Summary:
    """Counts of valid e-mails, free-mail share, phones by country, seniorities, …"""
    cols = {r[0].lower(): r[0] for r in con.execute(f"DESCRIBE {q(table)}").fetchall()}
    out = Summary(contacts=con.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0])

    def has(c: str) -> bool:
        return c in cols

    if has("email_valid"):
        out.counts["e-mails"] = _count(con, table, "email_valid IS NOT NULL")
        out.counts["valid e-mails"] = _count(con, table, "email_valid = 'true'")
        out.counts["free e-mails"] = _count(con, table, "email_type = 'free'")
        out.breakdowns["e-mail type"] = _breakdown(con, table, "email_type")
    if has("email_deliverable"):
        out.counts["deliverable e-mails"] = _count(con, table, "email_deliverable = 'true'")
    if has("phone_valid"):
        out.counts["phones"] = _count(con, table, "phone_valid IS NOT NULL")
        out.counts["valid phones"] = _count(con, table, "phone_valid = 'true'")
        out.breakdowns["phone country"] = _breakdown(con, table, "phone_country")
        out.breakdowns["phone type"] = _breakdown(con, table, "phone_type")
    if has("ip_valid"):
        out.counts["IP addresses"] = _count(con, table, "ip_valid IS NOT NULL")
        out.breakdowns["IP country"] = _breakdown(con, table, "ip_country")
    if has("country_valid"):
        out.counts["countries given"] = _count(con, table, "country_valid IS NOT NULL")
        out.counts["countries recognised"] = _count(con, table, "country_valid = 'true'")
    if has("country_source"):
        out.breakdowns["country from"] = _breakdown(con, table, "country_source")
    if has("seniority"):
        out.breakdowns["seniority"] = _breakdown(con, table, "seniority")
    if has("function"):
        out.breakdowns["function"] = _breakdown(con, table, "function")
    if has("company_domain"):
        out.counts["company domains"] = _count(con, table, "company_domain IS NOT NULL")
    return out
