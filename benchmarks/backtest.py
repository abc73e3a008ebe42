"""Backtest of two model variants against plain batch scoring of the same data.

    python benchmarks/backtest.py [--contacts 5000] [--events-per-contact 20] [--runs 3]
                                  [--engine sql|inprocess]

Data: the seeded synthetic funnel (``leadscore.data.generate``), Parquet files
in a temporary folder. Models: ``examples/b2b_saas.yaml`` and the same model
without its "Gone quiet" rule.

* baseline: batch scoring of both models as of the end of the data, every
  row materialised (SQL engine: the compiled query on DuckDB, read into Arrow;
  in-process: ``leadscore score``'s loop);
* backtest: ``run_backtest`` of both models on the same engine with the
  outcome time (each contact scored just before it converted), 200 paired
  bootstrap resamples and per-rule diagnostics.

Prints the median wall-clock and CPU time (all threads of the process) of
``--runs`` runs of each and the ratios backtest ÷ batch scoring. Both timings
include reading the files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from leadscore.data.generate import END, generate  # noqa: E402
from leadscore.data.io import load_inputs  # noqa: E402
from leadscore.engine.batch import score_batch  # noqa: E402
from leadscore.engine.sql.duckdb import score_relation  # noqa: E402
from leadscore.evaluate import Options, run_backtest  # noqa: E402
from leadscore.evaluate.scoring import without_rule  # noqa: E402
from leadscore.model import load_model  # noqa: E402


def models():
    base = load_model(ROOT / "examples" / "b2b_saas.yaml")
    variant = without_rule(base, "Gone quiet").model_copy(update={"name": "b2b-saas-no-quiet"})
    return [base, variant]


def time_batch(contacts: Path, events: Path, engine: str) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    inputs = load_inputs(contacts, events)
    if engine == "sql":
        table = score_relation(models(), inputs.con, as_of=END).arrow()
        if hasattr(table, "read_all"):
            table.read_all()
    else:
        score_batch(models(), inputs, engine="inprocess", as_of=END).rows()
    return time.perf_counter() - start, time.process_time() - cpu


def time_backtest(contacts: Path, events: Path, engine: str) -> tuple[float, float, object]:
    start, cpu = time.perf_counter(), time.process_time()
    inputs = load_inputs(contacts, events)
    bt = run_backtest(
        models(),
        inputs,
        outcome="converted",
        outcome_time="converted_at",
        as_of=END,
        options=Options(),
        engine=engine,
    )
    return time.perf_counter() - start, time.process_time() - cpu, bt


def _runs(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--events-per-contact", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["sql", "inprocess"], default="sql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as tmp:
        contacts, events = generate(
            args.contacts, args.seed, tmp, events_per_contact=args.events_per_contact
        )
        n_events = load_inputs(contacts, events).n_events
        print(
            f"data: {args.contacts} contacts, {n_events} events (synthetic, seed {args.seed}); "
            f"engine: {args.engine}"
        )
        batch, backtest, batch_cpu, backtest_cpu = [], [], [], []
        bt = None
        for _ in range(args.runs):
            wall, cpu = time_batch(contacts, events, args.engine)
            batch.append(wall)
            batch_cpu.append(cpu)
            wall, cpu, bt = time_backtest(contacts, events, args.engine)
            backtest.append(wall)
            backtest_cpu.append(cpu)
        b, t = statistics.median(batch), statistics.median(backtest)
        bc, tc = statistics.median(batch_cpu), statistics.median(backtest_cpu)
        print(
            f"batch scoring, 2 models:  wall median {b:.2f} s (runs: {_runs(batch)}); "
            f"CPU median {bc:.2f} s"
        )
        print(
            f"backtest, 2 models:       wall median {t:.2f} s (runs: {_runs(backtest)}); "
            f"CPU median {tc:.2f} s"
        )
        print(f"ratio backtest / batch scoring: wall {t / b:.2f}, CPU {tc / bc:.2f}")
        for v in bt.variants:
            print(f"  {v.name}: AUC {v.auc:.3f}, lift top 10% {v.top[1].lift:.2f}")


if __name__ == "__main__":
    main()
