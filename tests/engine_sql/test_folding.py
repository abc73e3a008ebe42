"""Case-insensitive text tests give the same answer on every engine, by one rule
(simple Unicode case folding, one character at a time), hand-computed here on the
pairs where engines' own lower-case functions disagree with each other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadscore.engine.sql import score_sql
from leadscore.model import load_model

from .support import duck, reference, run_all

MODEL = r"""
name: folding
scale: {min: 0, max: 200}
groups:
  fit:
    rules:
      - {name: Sigma, when: {name: {eq: "ΣΑΣ"}}, points: 1}
      - {name: Dotted I, when: {city: {eq: "İstanbul"}}, points: 2}
      - {name: Sharp s, when: {title: {contains: "straße"}}, points: 4}
      - {name: Kelvin, when: {unit: {eq: "k"}}, points: 8}
      - {name: Cherokee, when: {tag: {matches: "(?i)^ꭰ"}}, points: 16}
      - {name: Digraph, when: {word: {starts_with: "ǆ"}}, points: 32}
      - {name: Deseret, when: {alpha: {ends_with: "𐐀"}}, points: 64}
"""

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
PROPS = ["name", "city", "title", "unit", "tag", "word", "alpha"]
CONTACTS = [
    # final sigma, Kelvin sign, capital sharp s, Cherokee capital, title-case digraph,
    # a letter outside the Basic Multilingual Plane: all equal ignoring case
    {
        "id": "a",
        "name": "σας",
        "city": "istanbul",  # İ equals only itself: no Turkish rule
        "title": "Große STRAẞE",
        "unit": "\u212a",
        "tag": "Ꭰabc",
        "word": "ǅungla",
        "alpha": "x𐐨",
    },
    # one character is never two: STRASSE is not straße, dz is not ǆ
    {
        "id": "b",
        "name": "ΣΑΣ",
        "city": "İSTANBUL",
        "title": "STRASSE",
        "unit": "k",
        "tag": "ꭰ",
        "word": "dzungla",
        "alpha": "𐐀",
    },
    {
        "id": "c",
        "name": "sas",
        "city": "Istanbul",
        "title": "strasse",
        "unit": "K",
        "tag": "abc",
        "word": "Ǆ",
        "alpha": "𐐨x",
    },
]
WANT = {"a": 1 + 4 + 8 + 16 + 32 + 64, "b": 1 + 2 + 8 + 16 + 64, "c": 8 + 32}


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def test_hand_computed_in_process(model):
    rows = reference([model], CONTACTS, [], as_of=AS_OF)
    assert {r["contact_id"]: r["total"] for r in rows} == WANT


def test_hand_computed_on_duckdb(model):
    rows = score_sql([model], duck(CONTACTS, [], PROPS, []), as_of=AS_OF)
    assert {r["contact_id"]: r["total"] for r in rows} == WANT


@pytest.mark.postgres
def test_postgres_matches_inprocess(model, pg_url):
    run_all([model], CONTACTS, [], PROPS, [], as_of=AS_OF, pg_url=pg_url)


@pytest.mark.spark
def test_spark_matches_inprocess(model, spark):
    run_all([model], CONTACTS, [], PROPS, [], as_of=AS_OF, spark=spark)
