"""What ``leadscore score`` prints: the rankings read back from the written files
(every engine alike), the link report's warnings and the summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from ..data.io import output_format
from ..engine.linking import LinkReport
from ..model import ScoringModel
from .common import console, fmt_score

if TYPE_CHECKING:
    from ..data.io import Inputs

Models = list[ScoringModel]


def stage_cell(row: dict, default_stage: str | None) -> str:
    """A ranking's stage cell: the exclusion in red, a stage above the default in green
    (text printed literally, never read as markup)."""
    stage = row["stage"] or ""
    if row["excluded"]:
        return f"[red]excluded: {escape(row['exclusion_reason'] or '')}[/]"
    if stage and stage != default_stage:
        return f"[bold green]{escape(stage)}[/]"
    return escape(stage)


def ranking_table(best: list[dict], model: ScoringModel, top: int, total: int) -> None:
    """The top contacts of one model: each group, the total, grade and stage."""
    table = Table(
        title=f"Top {min(top, total)} of {total} — {escape(model.name)}",
        header_style="bold",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("contact")
    for g in model.groups:
        table.add_column(g, justify="right")
    table.add_column("total", justify="right", style="bold")
    table.add_column("grade")
    table.add_column("stage")
    for i, r in enumerate(best[:top], start=1):
        table.add_row(
            str(i),
            escape(str(r["contact_id"])),
            *(fmt_score(r[g]) for g in model.groups),
            fmt_score(r["total"]),
            r["grade"] or "",
            stage_cell(r, model.default_stage),
        )
    console.print(table)


def warn(text: str) -> None:
    console.print(f"[yellow]warning:[/] {escape(text)}")


def print_sql(statements: list[str]) -> None:
    """Every statement of an account plan, in the order it runs, each ending in ``;``."""
    print("\n\n".join(s.rstrip().rstrip(";") + ";" for s in statements))


def link_warnings(report: LinkReport) -> None:
    for line in report.lines():
        warn(line)


def stale_links(inputs: Inputs) -> None:
    """Warn about contacts whose ``account_id`` names no account (they get none)."""
    if "account_id" not in inputs.properties or not inputs.has_accounts:
        return
    rows = inputs.con.execute(
        "SELECT DISTINCT trim(account_id) FROM contacts WHERE trim(account_id) <> '' "
        "AND trim(account_id) NOT IN (SELECT id FROM accounts) ORDER BY 1"
    ).fetchall()
    if not rows:
        return
    n = inputs.con.execute(
        "SELECT count(*) FROM contacts WHERE trim(account_id) <> '' "
        "AND trim(account_id) NOT IN (SELECT id FROM accounts)"
    ).fetchone()[0]
    shown = ", ".join(repr(r[0]) for r in rows[:5])
    warn(
        f"{n} contact(s) name an account_id that is not among the accounts ({shown}); an "
        "explicit account_id always wins, so they have no account (fix the id, or leave it "
        "empty to link by e-mail domain)"
    )


def _source(path: Path) -> str:
    """A DuckDB table expression reading a written result (a Spark folder too)."""
    literal = "'" + str(path).replace("'", "''") + "'"
    if path.is_dir():
        return "read_parquet('" + str(path).replace("'", "''") + "/*.parquet')"
    reader = {"CSV": "read_csv", "PARQUET": "read_parquet", "JSON": "read_json"}
    return f"{reader[output_format(path)]}({literal})"


def _fetch(con, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _typed(rows: list[dict], groups: list[str]) -> list[dict]:
    for r in rows:
        r["excluded"] = str(r["excluded"]).lower() == "true"
        for g in [*groups, "total"]:
            r[g] = None if r[g] is None else float(r[g])
    return rows


def print_rankings(con, out: Path, accounts_out: Path | None, models: Models, top: int) -> None:
    """The contact ranking, then the account ranking, read back from the written files."""
    print_contact_ranking(con, out, models, top)
    if accounts_out is not None:
        print_account_ranking(con, accounts_out, models, top)


def print_contact_ranking(con, out: Path, models: Models, top: int) -> None:
    """Each model's top contacts and its stage counts, read back from ``out``."""
    contacts = _source(out)
    for model in models:
        best = _fetch(
            con,
            f"SELECT * FROM {contacts} WHERE model = ? ORDER BY total DESC, contact_id LIMIT ?",
            [model.name, top],
        )
        counts = _stage_counts(con, contacts, model.name)
        ranking_table(_typed(best, list(model.groups)), model, top, sum(n for _, n in counts))
        console.print("stages: " + ", ".join(f"{k} {v}" for k, v in counts), markup=False)


def print_account_ranking(con, path: Path, models: Models, top: int) -> None:
    """Each account-scoring model's top accounts and its account stage counts."""
    accounts = _source(path)
    for model in models:
        if model.account is None:
            continue
        best = _fetch(
            con,
            f"SELECT * FROM {accounts} WHERE model = ? ORDER BY total DESC, account_id LIMIT ?",
            [model.name, top],
        )
        counts = _stage_counts(con, accounts, model.name)
        _account_table(_typed(best, list(model.account.groups)), model, top, counts)
        console.print("account stages: " + ", ".join(f"{k} {v}" for k, v in counts), markup=False)


def _stage_counts(con, source: str, model: str) -> list[tuple[str, int]]:
    return con.execute(
        "SELECT CASE WHEN CAST(excluded AS BOOLEAN) THEN 'excluded' "
        f"ELSE coalesce(stage, '(none)') END, count(*) FROM {source} "
        "WHERE model = ? GROUP BY 1 ORDER BY 1",
        [model],
    ).fetchall()


def _account_table(best: list[dict], model: ScoringModel, top: int, counts) -> None:
    acc = model.account
    assert acc is not None
    total = sum(n for _, n in counts)
    table = Table(
        title=f"Top {min(top, total)} of {total} accounts — {escape(model.name)}",
        header_style="bold",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("account")
    for g in acc.groups:
        table.add_column(g, justify="right")
    table.add_column("total", justify="right", style="bold")
    table.add_column("grade")
    table.add_column("stage")
    table.add_column("contacts", justify="right")
    for i, r in enumerate(best, start=1):
        stage = stage_cell(r, acc.default_stage)
        table.add_row(
            str(i),
            escape(str(r["account_id"])),
            *(fmt_score(r[g]) for g in acc.groups),
            fmt_score(r["total"]),
            r["grade"] or "",
            stage,
            str(r["contacts"]),
        )
    console.print(table)


def count_rows(con, out: Path) -> int:
    """How many score rows a written result holds."""
    return con.execute(f"SELECT count(*) FROM {_source(out)}").fetchone()[0]


def summary(con, out: Path, accounts_out: Path | None) -> None:
    """How many accounts were scored (None: no model scores any) and how many contacts
    linked to one."""
    linked, contacts = con.execute(
        "SELECT count(DISTINCT contact_id) FILTER (WHERE account_id IS NOT NULL), "
        f"count(DISTINCT contact_id) FROM {_source(out)}"
    ).fetchone()
    head = "no model scores accounts; "
    if accounts_out is not None:
        n = con.execute(f"SELECT count(DISTINCT account_id) FROM {_source(accounts_out)}")
        head = f"scored {n.fetchone()[0]} accounts; "
    share = f" ({linked / contacts:.0%})" if contacts else ""
    console.print(
        f"{head}{linked} of {contacts} contacts linked to an account{share}", markup=False
    )
