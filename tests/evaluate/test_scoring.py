"""Removing a rule: the recombined totals equal a full rescoring of the variant model."""

from __future__ import annotations

import random

import numpy as np
import pytest

from leadscore.data.io import load_inputs
from leadscore.engine.inprocess import score_contact, to_event
from leadscore.evaluate.scoring import recombine, score_population, without_rule
from leadscore.model import load_model

from .helpers import write_csv

AS_OF = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def population(tmp_path_factory, examples_dir):
    rnd = random.Random(7)
    tmp = tmp_path_factory.mktemp("pop")
    contacts, events = [], []
    for i in range(60):
        contacts.append(
            {
                "id": f"c{i:02d}",
                "email_type": rnd.choice(["business", "free", ""]),
                "country": rnd.choice(["FR", "US", "BR", ""]),
                "job_title": rnd.choice(["CEO", "Engineer", "Student", "VP Sales", ""]),
                "employees": rnd.choice(["5", "120", "900", "20000", ""]),
                "industry": rnd.choice(["Software", "Retail", ""]),
                "budget": rnd.choice(["", "5000", "50000"]),
                "phone": rnd.choice(["", "+33 1 23 45 67 89"]),
                "company": rnd.choice(["", "Acme"]),
                "email_domain": rnd.choice(["acme.example", "rival.example", "x.example"]),
            }
        )
        for k in range(rnd.randint(0, 12)):
            kind = rnd.choice(
                [
                    "page_view",
                    "page_view",
                    "email_click",
                    "form_submit",
                    "asset_download",
                    "webinar_attended",
                    "unsubscribe",
                ]
            )
            events.append(
                {
                    "contact_id": f"c{i:02d}",
                    "event_id": f"e{i}-{k}",
                    "type": kind,
                    "ts": f"2026-{rnd.randint(1, 5):02d}-{rnd.randint(1, 28):02d}T10:00:00Z",
                    "url": rnd.choice(["/pricing", "/blog", "/careers", ""]),
                    "form_id": rnd.choice(["demo", "newsletter", ""]),
                    "asset_id": rnd.choice(["a1", "a2", ""]),
                }
            )
    cpath = write_csv(tmp / "contacts.csv", contacts)
    epath = write_csv(tmp / "events.csv", events)
    model = load_model(examples_dir / "b2b_saas.yaml")
    inputs = load_inputs(cpath, epath)
    pop = score_population([model], inputs, lambda c: (True, 0.0, AS_OF))
    rows = list(load_inputs(cpath, epath).contact_rows())
    return model, pop, rows


def test_population_scores_equal_the_evaluator(population):
    model, pop, rows = population
    expected = [score_contact(model, c, ev, as_of=AS_OF).total for c, ev in rows]
    assert pop.scored[model.name].total.tolist() == expected
    assert pop.ids == [c["id"] for c, _ in rows]


def test_recombined_totals_equal_rescoring_without_each_rule(population):
    model, pop, rows = population
    scored = pop.scored[model.name]
    events = [[to_event(e) for e in ev] for _, ev in rows]
    for _, rule in model.rules():
        variant = without_rule(model, rule.name)
        assert rule.name not in {r.name for _, r in variant.rules()}
        pairs = zip((c for c, _ in rows), events, strict=True)
        rescored = np.array([score_contact(variant, c, ev, as_of=AS_OF).total for c, ev in pairs])
        assert recombine(variant, scored).tolist() == rescored.tolist(), rule.name


def test_recombine_of_the_whole_model_gives_its_totals(population):
    model, pop, _ = population
    scored = pop.scored[model.name]
    assert recombine(model, scored).tolist() == scored.total.tolist()


def test_without_an_unknown_rule_fails(population):
    model, _, _ = population
    with pytest.raises(KeyError):
        without_rule(model, "No such rule")
