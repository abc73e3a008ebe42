"""Regular expressions: translated so that each engine finds what Python's re finds,
or refused with the engine and the construct named."""

from __future__ import annotations

import re

import duckdb
import pytest

from leadscore.engine.regex import RegexUnsupported, translate

PATTERNS = [
    r"(?i)\b(ceo|cto|vp|head)\b",
    r"(?i)\b(student|étudiant|intern)\b",
    r"^a.c$",
    r"b$",
    r"\d+",
    r"[^a-z]",
    r"(?i)straße",
    r"(?i)k",
    r"\w+\s\w+",
    r"x{2,3}",
    r"\Aab\Z",
    r"(?s)a.b",
    r"(?x) a b  # verbose",
]
TEXTS = [
    "CEO",
    "the ceo.",
    "Étudiant en master",
    "xétudiant",
    "aceo",
    "ceos",
    "abc",
    "abc\n",
    "a\nc",
    "b\n",
    "٣4",
    "Z",
    "STRASSE",
    "Straße",
    "\u212a",
    "K",
    "ab cd",
    "é é",
    "xxx",
    "ab",
    "ab\n",
    "a\nb",
    "a b",
    "ab",
    "Head of Sales",
    "VP, Marketing",
    "vp_x",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_duckdb_finds_what_python_finds(pattern):
    con = duckdb.connect()
    translated = translate(pattern, "duckdb")
    for text in TEXTS:
        want = re.search(pattern, text) is not None
        got = con.execute("SELECT regexp_matches(?, ?)", [text, translated]).fetchone()[0]
        assert got == want, f"{pattern!r} on {text!r}: {got}, Python says {want}"


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", "back-references"),
        (r"a(?=b)", "look-ahead"),
        (r"(?<!a)b", "look-ahead or look-behind"),
        (r"a$b", "'$' is only supported at the end"),
        (r"\Ba", "'\\B'"),
        (r"x\bfoo", "'\\b' is only supported at the start or end"),
        (r"(?m)^a", "multi-line"),
        (r"a++", "possessive"),
        (r"a{1001}", "repeat count above"),
    ],
)
@pytest.mark.parametrize("engine", ["duckdb", "postgres", "spark", "re2"])
def test_refused_with_engine_and_construct(pattern, construct, engine):
    with pytest.raises(RegexUnsupported) as info:
        translate(
            pattern,
            engine,
            {"duckdb": "DuckDB", "postgres": "PostgreSQL", "spark": "Spark", "re2": "RE2"}[engine],
        )
    message = str(info.value)
    assert construct in message
    assert repr(pattern) in message
    assert info.value.hint  # every refusal says how to write it instead


def test_postgres_refuses_repeat_counts_above_its_limit():
    with pytest.raises(RegexUnsupported, match="repeat count above 255"):
        translate("a{300}", "postgres", "PostgreSQL")
    assert translate("a{300}", "duckdb") == "(?:a){300}"


def test_model_with_a_regex_one_engine_cannot_run_is_refused_at_compile_time():
    from leadscore.engine.sql import build_query
    from leadscore.engine.sql.compiler import Source
    from leadscore.errors import ModelError
    from leadscore.model import load_model

    # RE2 (in-process, DuckDB) counts to 1000; PostgreSQL only to 255.
    model = load_model(
        "name: m\ngroups:\n  fit:\n    rules:\n      - name: Long\n"
        "        when: {title: {matches: 'a{300}'}}\n        points: 1\n"
    )
    src = Source(contact_columns=("id", "title"))
    build_query(model, "duckdb", src, as_of="2026-01-01")
    with pytest.raises(ModelError) as info:
        build_query(model, "postgres", src, as_of="2026-01-01")
    text = str(info.value)
    assert "PostgreSQL" in text and "repeat count above 255" in text
    assert "groups.fit.rules[0]" in text
