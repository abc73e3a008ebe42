"""Names a model reads that the data does not hold: warned about by ``validate``,
``score`` and ``backtest``, with "did you mean" from the data's real names."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leadscore import load_model
from leadscore.data.checks import unknown_names, vocabulary

MODEL = textwrap.dedent(
    """\
    name: typo
    groups:
      fit:
        max: 60
        rules:
          - name: Business email
            when: {email_type: business}
            points: 10
          - name: Country
            when: {contry: FR}
            points: 10
      engagement:
        rules:
          - name: Pricing
            on: {type: page_veiw, url: {contains: /pricing}}
            points: 10
          - name: Demo
            on: {type: form_submit, form_idd: demo}
            points: 30
    thresholds:
      - stage: MQL
        when: {total: {gte: 30}}
    """
)


@pytest.fixture
def run(monkeypatch, capsys):
    """Run ``leadscore ARGS`` in this process, as the installed command does."""
    from leadscore.cli import common, main

    for console in (common.console, common.err_console, main.err_console):
        monkeypatch.setattr(console, "width", 300)

    def invoke(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["leadscore", *args])
        code = 0
        try:
            main.run()
        except SystemExit as exc:
            code = exc.code or 0
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return invoke


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "m.yaml").write_text(MODEL)
    (tmp_path / "c.csv").write_text(
        "id,email,country,converted\n"
        "c1,ann@acme.com,FR,1\nc2,bob@gmail.com,US,0\nc3,cy@acme.com,DE,1\nc4,di@yahoo.com,FR,0\n"
    )
    (tmp_path / "e.csv").write_text(
        "contact_id,event_id,type,ts,url,form_id\n"
        "c1,e1,page_view,2026-01-01T10:00:00Z,/pricing,\n"
        "c1,e2,form_submit,2025-12-20,,demo\n"
    )
    return {k: str(tmp_path / n) for k, n in (("m", "m.yaml"), ("c", "c.csv"), ("e", "e.csv"))}


def test_validate_with_data_warns_with_did_you_mean_at_the_line(run, files):
    out = run("validate", files["m"], "-c", files["c"], "-e", files["e"])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("ok typo")
    assert (
        f"warning: {files['m']}:10:16: groups.fit.rules[1].when.contry: property 'contry' is "
        f"in no contact of {files['c']}: rule 'Country' never matches on it (did you mean "
        "'country'?)"
    ) in text
    assert "event type 'page_veiw' is in no event of" in text and "'page_view'?" in text
    assert "event attribute 'form_idd'" in text and "did you mean 'form_id'?" in text
    # a property enrichment adds: the fix is --enrich, not a spelling
    assert "property 'email_type' is added by enrichment, which was not applied" in text
    assert "pass --enrich" in text


def test_validate_with_enrich_knows_the_enrichment_properties(run, files):
    out = run("validate", files["m"], "-c", files["c"], "--enrich")
    assert out.returncode == 0, out.stderr
    assert "email_type" not in out.stdout.split("stages:")[1]
    assert "'contry'" in out.stdout


def test_validate_without_data_has_no_data_warnings(run, files):
    out = run("validate", files["m"])
    assert out.returncode == 0
    assert "warning" not in out.stdout


def test_validate_json_lists_the_warnings(run, files):
    out = run("validate", "--json", files["m"], "-c", files["c"], "-e", files["e"])
    result = json.loads(out.stdout)
    assert result["ok"] is True
    by_path = {w["path"]: w for w in result["warnings"]}
    assert by_path["groups.fit.rules[1].when.contry"]["hint"] == "did you mean 'country'?"
    assert by_path["groups.engagement.rules[0].on.type"]["line"] == 15
    assert len(result["warnings"]) == 4


def test_validate_refuses_events_without_contacts(run, files):
    out = run("validate", files["m"], "-e", files["e"])
    assert out.returncode == 2  # a usage error
    assert "--events goes with --contacts" in out.stderr


def test_score_warns_and_enrich_silences_the_enrichment_warning(run, files, tmp_path):
    out = run("score", "-m", files["m"], "-c", files["c"], "-e", files["e"], "-o",
              str(tmp_path / "s.csv"), "--as-of", "2026-02-01")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "property 'email_type' is added by enrichment" in out.stdout
    assert "did you mean 'page_view'?" in out.stdout
    out = run("score", "-m", files["m"], "-c", files["c"], "-o", str(tmp_path / "s.csv"),
              "--as-of", "2026-02-01", "--enrich")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "email_type" not in out.stdout
    assert "did you mean 'country'?" in out.stdout


def _fires(result: dict, rule: str) -> int:
    (variant,) = result["variants"]
    return next(r["fires_on"] for r in variant["rules"] if r["rule"] == rule)


def test_backtest_enrich_applies_enrichment_and_its_absence_is_warned(run, files):
    args = ["backtest", "-m", files["m"], "-c", files["c"], "--outcome", "converted",
            "--bootstrap", "0", "--json"]  # fmt: skip
    plain = run(*args)
    assert plain.returncode == 0, plain.stderr
    assert "property 'email_type' is added by enrichment" in plain.stderr  # JSON stays clean
    assert _fires(json.loads(plain.stdout), "Business email") == 0
    enriched = run(*args, "--enrich")
    assert enriched.returncode == 0, enriched.stderr
    assert "email_type" not in enriched.stderr
    # ann@acme.com and cy@acme.com are business addresses; gmail and yahoo are free
    assert _fires(json.loads(enriched.stdout), "Business email") == 2


def test_unknown_names_each_once_case_folded_and_listing_real_names():
    model = load_model(
        {
            "name": "t",
            "groups": {
                "eng": {
                    "rules": [
                        {"name": "a", "on": {"type": "Page_View"}, "points": 1},
                        {"name": "b", "on": {"type": {"in": ["xyzzy", "page_view"]}}, "points": 1},
                        {"name": "c", "on": {"type": "xyzzy"}, "points": 1},
                        {"name": "d", "on": {"not": {"type": "nothing"}}, "points": 1},
                    ]
                },
                "fit": {"rules": [{"name": "e", "properties": ["qqq"], "points": 1}]},
            },
            "exclusions": [{"name": "x", "when": {"account.size": {"gt": 1}}}],
        }
    )
    vocab = vocabulary(["country", "email"], ["page_view", "form_submit"], where="the store")
    found = unknown_names(model, vocab)
    assert [p.message for p in found] == [
        "event type 'xyzzy' is in no event of the store: rule 'b' never fires on it",
        "property 'qqq' is in no contact of the store: rule 'e' never matches on it",
    ]
    assert found[0].hint == "check the spelling; the event types there are: form_submit, page_view"
    assert found[0].line is None  # no text given: not located


def test_empty_data_is_not_compared():
    model = load_model(
        {"name": "t", "groups": {"fit": {"rules": [{"name": "a", "when": {"q": 1}, "points": 1}]}}}
    )
    assert unknown_names(model, vocabulary([], [])) == []
