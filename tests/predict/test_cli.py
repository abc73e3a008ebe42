"""train, predict, suggest and retrain as a user runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from leadscore.errors import LeadscoreError
from leadscore.model import load_model
from leadscore.predict import TrainedModel

from .conftest import write_synthetic


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command in a child process: exit codes and error lines as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "leadscore", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def invoke(*args: str) -> SimpleNamespace:
    """The same command in this process (faster); our errors come back as exit code 1."""
    from leadscore.cli.main import app

    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    exc = result.exception
    if exc is not None and not isinstance(exc, (LeadscoreError, SystemExit)):
        raise exc
    failed = isinstance(exc, LeadscoreError)
    return SimpleNamespace(
        returncode=1 if failed else result.exit_code,
        stdout=result.stdout,
        stderr=f"Error: {exc}" if failed else "",
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synthetic):
    contacts, events = synthetic
    out = tmp_path_factory.mktemp("cli") / "model"
    done = invoke(
        "train",
        "--contacts",
        contacts,
        "--events",
        events,
        "--outcome",
        "converted",
        "--outcome-time",
        "converted_at",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_train_writes_model_and_card_and_prints_held_out_figures(trained):
    out, stdout = trained
    assert "Held-out performance" in stdout and "AUC" in stdout
    assert "Warning: thin data" in stdout
    assert (out / "model_card.md").exists() and (out / "model.pkl").exists()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_predict_writes_probability_score_band_and_reasons(trained, synthetic, tmp_path, suffix):
    model, _ = trained
    contacts, events = synthetic
    out = tmp_path / f"p{suffix}"
    done = invoke(
        "predict", "--model", model, "--contacts", contacts, "--events", events, "--out", out
    )
    assert done.returncode == 0, done.stderr
    if suffix == ".csv":
        rows = list(csv.DictReader(out.open()))
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        rows = pq.read_table(out).to_pylist()
    assert len(rows) == 300
    assert list(rows[0]) == [
        "id",
        "probability",
        "score",
        "band",
        "reason_1",
        "reason_2",
        "reason_3",
    ]
    for r in rows:
        p = float(r["probability"])
        assert 0 <= p <= 1 and int(r["score"]) == round(100 * p)
        assert r["band"] in ("very high", "high", "medium", "low")
    # each band is the one the model's cut-offs (quantiles of the training snapshots'
    # probabilities) give; contacts seen at the end of the data, with all their history,
    # need not split 10/20/30/40 as the training snapshots do
    trained_model = TrainedModel.load(model)
    assert all(r["band"] == trained_model.band(float(r["probability"])) for r in rows)
    assert {r["band"] for r in rows} == {"very high", "high", "medium", "low"}
    assert "(+" in rows[0]["reason_1"] or "(-" in rows[0]["reason_1"]


def test_train_errors_are_short_and_say_the_fix(synthetic, tmp_path):
    contacts, events = synthetic
    done = run(
        "train",
        "--contacts",
        contacts,
        "--events",
        events,
        "--outcome",
        "converted",
        "--out",
        tmp_path / "m",
        "--drop",
        "converted_at",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error:") and "probable leakage" in done.stderr
    assert "--drop COLUMN" in done.stderr
    done = invoke("train", "--contacts", contacts, "--outcome", "nope", "--out", tmp_path / "m")
    assert done.returncode == 1 and "no column 'nope'" in done.stderr


def test_suggest_writes_a_valid_model_within_max_rules(synthetic, tmp_path):
    contacts, _ = synthetic
    out = tmp_path / "suggested.yaml"
    done = invoke(
        "suggest",
        "--contacts",
        contacts,
        "--outcome",
        "converted",
        "--drop",
        "converted_at",
        "--max-rules",
        "3",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    model = load_model(out)
    assert sum(len(r.cases) for _, r in model.rules()) <= 3
    assert out.read_text().startswith("# Suggested by `leadscore suggest`")
    assert invoke("validate", out).returncode == 0


def test_retrain_refuses_a_worse_model_unless_forced(tmp_path):
    # the model in use learned from 800 contacts; the new data has 200 (a weaker model)
    old_c, old_e = write_synthetic(tmp_path / "old", n=800, seed=1)
    current = tmp_path / "current"
    done = invoke(
        "train",
        "--contacts",
        old_c,
        "--events",
        old_e,
        "--outcome",
        "converted",
        "--outcome-time",
        "converted_at",
        "--out",
        current,
    )
    assert done.returncode == 0, done.stderr
    new_c, new_e = write_synthetic(tmp_path / "new", n=200, seed=2, prefix="n")
    done = invoke("retrain", "--model", current, "--contacts", new_c, "--events", new_e)
    assert "Same held-out contacts" in done.stdout
    assert "40 contacts the model in use never learned from" in done.stdout
    assert done.returncode == 1
    assert "the new model is worse" in done.stderr and "the model in use was kept" in done.stderr
    assert "--force" in done.stderr
    assert not (tmp_path / "current.previous").exists()
    forced = invoke(
        "retrain", "--model", current, "--contacts", new_c, "--events", new_e, "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert "worse, replaced because of --force" in forced.stdout
    assert (tmp_path / "current.previous" / "model.pkl").exists()
    assert len(TrainedModel.load(current).training_ids) == 200
    assert len(TrainedModel.load(tmp_path / "current.previous").training_ids) == 800


def test_predict_without_reasons(trained, synthetic, tmp_path):
    model, _ = trained
    contacts, events = synthetic
    out = tmp_path / "p.csv"
    done = invoke(
        "predict",
        "--model",
        model,
        "--contacts",
        contacts,
        "--events",
        events,
        "--out",
        out,
        "--reasons",
        "0",
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["id", "probability", "score", "band"] and len(rows) == 300


def test_predict_on_two_threads_gives_the_same_file(trained, synthetic, tmp_path):
    model, _ = trained
    contacts, events = synthetic
    files = []
    for threads in ("1", "2"):
        out = tmp_path / f"p{threads}.csv"
        done = invoke(
            "predict", "--model", model, "--contacts", contacts, "--events", events,
            "--out", out, "--threads", threads,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        files.append(out.read_text())
    assert files[0] == files[1] and files[0].count("\n") == 301
    refused = invoke(
        "predict", "--model", model, "--contacts", contacts, "--out", tmp_path / "x.csv",
        "--threads", "-1",
    )  # fmt: skip
    assert refused.returncode == 1 and "--threads must be 0 (every core) or more" in refused.stderr
