"""``leadscore demo``: the main job on the embedded default, on sample data."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console

EXAMPLE_MODEL = Path(__file__).resolve().parents[3] / "examples" / "b2b_saas.yaml"


def demo(
    contacts: int = typer.Option(5000, "--contacts", help="How many sample contacts to make."),
    seed: int = typer.Option(7, "--seed", help="Seed of the sample data."),
    folder: Path = typer.Option(Path("demo-out"), "--dir", help="Where the demo writes files."),
    as_of: str = typer.Option(
        "2026-01-01T00:00:00Z", "--as-of", help="Score as of this time (the sample data ends then)."
    ),
) -> None:
    """Generate sample contacts and events, enrich them, score them with the
    bundled B2B SaaS model on DuckDB, and show the ranking."""
    from ..data.generate import generate
    from ..data.io import load_inputs
    from ..model import load_model
    from .common import parse_as_of
    from .score import output_columns, print_ranking, score_inprocess

    data_dir = folder / "data"
    contacts_path, events_path = data_dir / "contacts.parquet", data_dir / "events.parquet"
    if not (contacts_path.exists() and events_path.exists()):
        console.print(
            f"generating {contacts} sample contacts (seed {seed}) in {data_dir}", markup=False
        )
        contacts_path, events_path = generate(contacts, seed, data_dir)
    model = load_model(EXAMPLE_MODEL)
    when = parse_as_of(as_of)
    inputs = load_inputs(contacts_path, events_path, enrich=True, progress=True)
    rows = score_inprocess([model], inputs, when)
    out = folder / "scores.csv"
    from ..data.io import write_rows

    write_rows(inputs.con, rows, output_columns([model]), out)
    print_ranking(rows, [model], 15)
    best = min(rows, key=lambda r: (-r["total"], r["contact_id"]))
    console.print(
        f"scored {inputs.n_contacts} contacts from {inputs.n_events} events as of "
        f"{when.isoformat()} with {EXAMPLE_MODEL.name}",
        markup=False,
    )
    console.print(f"wrote {out}", markup=False)
    console.print(
        "why is the top lead on top? "
        f"leadscore explain -m examples/b2b_saas.yaml -c {contacts_path} -e {events_path} "
        f"--as-of {as_of} --id {best['contact_id']}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
