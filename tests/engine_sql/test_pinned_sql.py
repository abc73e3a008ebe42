"""The SQL of small pieces, pinned per dialect where the dialects differ: value
semantics, literals typed as DOUBLE, times in microseconds, lower-casing."""

from __future__ import annotations

from leadscore.engine.sql import build_query, to_sql
from leadscore.engine.sql.compiler import Source
from leadscore.model import load_model

MODEL = load_model(
    """
name: tiny
groups:
  fit:
    rules:
      - name: French
        when: {country: fr}
        points: 0.5
  engagement:
    rules:
      - name: Visits
        on: {type: page_view}
        points: 2
        within: 1d
        decay: {half_life: 30d}
"""
)
SRC = Source(
    contact_columns=("id", "country"), event_columns=("contact_id", "event_id", "type", "ts")
)


def sql(dialect: str) -> str:
    return to_sql(build_query(MODEL, dialect, SRC, as_of="2026-01-01T00:00:00Z"), dialect)


def test_duckdb():
    text = sql("duckdb")
    # case folding: each character the literal needs mapped to its simple folding
    # DuckDB's TRANSLATE is slow: ASCII text (one byte per character) folds as LOWER does
    assert (
        'COALESCE(CASE WHEN STRLEN("c"."country") = LENGTH("c"."country") '
        'THEN LOWER("c"."country") '
        "ELSE TRANSLATE(\"c\".\"country\", 'FR', 'fr') END = 'fr', FALSE)"
    ) in text
    assert "CAST('0.5' AS DOUBLE)" in text  # a bare 0.5 would be a DECIMAL
    assert 'EPOCH_US("ev"."ts") <= 1767225600000000' in text  # as-of in microseconds
    # age in seconds exactly as timedelta.total_seconds(), then / half-life, as in Python
    assert (
        "POWER(CAST('0.5' AS DOUBLE), CAST(1767225600000000 - \"__ts_us\" AS DOUBLE) / "
        "CAST('1000000.0' AS DOUBLE) / CAST('2592000.0' AS DOUBLE))"
    ) in text
    assert '"__ts_us" >= (1767225600000000 - 86400000000)' in text  # within: inclusive


def test_postgres():
    text = sql("postgres")
    assert "COALESCE(TRANSLATE(\"c\".\"country\", 'FR', 'fr') = 'fr', FALSE)" in text
    assert "TRY_CAST" not in text
    assert 'CAST(EXTRACT(EPOCH FROM CAST("ev"."ts" AS VARCHAR)' not in text
    assert 'EXTRACT(EPOCH FROM "ev"."ts") * 1000000 AS BIGINT' in text
    assert "CAST('0.5' AS DOUBLE PRECISION)" in text
    # PostgreSQL errors on float underflow where Python gives 0.0
    assert ">= CAST('1000.0' AS DOUBLE PRECISION) THEN CAST('0.0' AS DOUBLE PRECISION)" in text


def test_spark():
    text = sql("spark")
    assert "UNIX_MICROS(`ev`.`ts`) <= 1767225600000000" in text
    assert "CAST('0.5' AS DOUBLE)" in text  # Spark reads 0.5 as DECIMAL
    assert "COALESCE(TRANSLATE(`c`.`country`, 'FR', 'fr') = 'fr', FALSE)" in text


def test_blank_and_number_tests_per_dialect():
    from sqlglot import exp

    from leadscore.engine.sql.conditions import Values
    from leadscore.engine.sql.dialects import get_dialect

    x = exp.column("v")
    duck = Values(get_dialect("duckdb")).number(x).sql("duckdb")
    # DuckDB: one REGEXP_EXTRACT finds the number and drops the whitespace around it
    # (no TRIM with a list of characters: it costs twenty times as much)
    assert duck.startswith("CASE WHEN ABS(TRY_CAST(REGEXP_EXTRACT(v, '^")
    assert "TRIM(" not in duck and duck.count("REGEXP_EXTRACT(v, ") == 2
    pg = Values(get_dialect("postgres")).number(x).sql("postgres")
    assert "BTRIM(v, " in pg and "AS DECIMAL)" in pg and "TRY_CAST" not in pg
    # the exact limits where text -> double rounds to infinity or to zero
    assert f"CAST('{2**1024 - 2**970}' AS DECIMAL)" in pg
    assert "CAST('0.000" in pg and f"{str(5**1075)[-9:]}' AS DECIMAL)" in pg
    spark = Values(get_dialect("spark")).present(x).sql("spark")
    assert spark.startswith("COALESCE(v RLIKE '[")


def test_duckdb_finds_repeated_event_ids_by_a_hash_before_any_window():
    text = sql("duckdb")
    # the events step is read by its three parts, each with its own columns
    assert "__i AS NOT MATERIALIZED (" in text and "__dup AS MATERIALIZED (" in text
    assert 'HASH("ev"."contact_id", "ev"."__key") AS "__h"' in text
    assert 'GROUP BY "__h" HAVING COUNT(*) > 1' in text
    # only events whose hash repeats go through the window: read again, tested first
    window = text.index("ROW_NUMBER() OVER")
    assert text.index('IN (SELECT "__h" FROM __dup)', window) > window
    assert text.count('NOT "__h" IN (SELECT "__h" FROM __dup)') == 1  # the others
    # the other engines keep one window over every event
    for other in ("postgres", "spark"):
        assert "HASH(" not in sql(other) and "ROW_NUMBER() OVER" in sql(other)
