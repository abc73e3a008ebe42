"""The second real data set of benchmarks/predictive.py reads as documented."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ..conftest import ROOT, SHARED_DATA


@pytest.fixture(scope="module")
def predictive():
    if not (SHARED_DATA / "olist_marketing_qualified_leads.csv").exists():
        pytest.skip(f"the shared Olist files are absent from {SHARED_DATA}: NOT checked")
    spec = importlib.util.spec_from_file_location(
        "predictive_benchmark", ROOT / "benchmarks" / "predictive.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_olist_leads_are_won_when_they_have_a_deal_and_keep_first_contact_columns(predictive):
    table, y = predictive.load_olist(SHARED_DATA)
    assert len(y) == 8000 and int(y.sum()) == 842  # every closed deal names one lead
    # only what is known at first contact: no deal column (filled in after the outcome)
    assert list(table) == ["origin", "first_contact_weekday", "first_contact_day"]
    days = [int(d) for d in table["first_contact_day"]]
    assert min(days) == 0 and max(days) > 300  # days since the funnel's first lead
    assert set(table["first_contact_weekday"]) <= {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    }  # fmt: skip
    assert "olist" in predictive.DATASETS and "x_education" in predictive.DATASETS


def test_unknown_data_set_is_refused_with_the_known_ones(predictive, capsys):
    assert predictive.main(["--datasets", "bank", "--skip-scale"]) == 2
    assert "unknown data sets: bank (known: x_education, olist)" in capsys.readouterr().out
