"""Sample data for the web app: a store that looks like a running service."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadscore.store import Store
from leadscore.store import tables as T
from leadscore.web import users
from leadscore.web.sample import main


def test_sample_store_has_published_scores_history_and_an_admin(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    main(["--database", url, "--contacts", "30", "--password", "demo-password-1"])
    printed = capsys.readouterr().out
    assert "30 contacts" in printed and "b2b-saas-abm" in printed
    store = Store(url)
    with store.read() as conn:
        # every contact under both models: the example and the account-based one
        models = conn.execute(
            sa.select(T.scores.c.model_name, sa.func.count()).group_by(T.scores.c.model_name)
        ).all()
        assert sorted(models) == [("b2b-saas", 30), ("b2b-saas-abm", 30)]
        status = conn.execute(sa.select(T.model_versions.c.status)).scalars().all()
        assert status == ["published", "published"]
        H = T.score_history.c
        weeks = conn.execute(
            sa.select(sa.func.count(sa.distinct(H.at))).where(H.cause == "event")
        ).scalar_one()
        assert weeks == 12  # twelve weekly passes
        published = conn.execute(
            sa.select(sa.distinct(H.model_name)).where(H.cause == "publish")
        ).scalars()
        assert sorted(published) == ["b2b-saas", "b2b-saas-abm"]  # then each model published
        n_accounts = conn.execute(sa.select(sa.func.count()).select_from(T.accounts)).scalar_one()
        scored = conn.execute(sa.select(sa.func.count()).select_from(T.account_scores)).scalar_one()
        assert n_accounts > 0 and scored == n_accounts  # the companies the contacts work for
        account_weeks = conn.execute(
            sa.select(sa.func.count(sa.distinct(T.account_score_history.c.at)))
        ).scalar_one()
        assert account_weeks > 1  # their history too
        assert users.authenticate(conn, "admin@example.com", "demo-password-1") is not None
    store.dispose()
    with pytest.raises(SystemExit, match="already holds contacts"):
        main(["--database", url, "--contacts", "30"])


def test_filling_the_sample_store_tells_each_step(tmp_path):
    from leadscore.service import Service, load_settings
    from leadscore.web.sample import seed

    svc = Service(load_settings({"database": f"sqlite:///{tmp_path / 's.db'}"}, env={}))
    told: list[tuple[str, int, int]] = []
    seed(svc, 20, weeks=2, progress=lambda what, done, total: told.append((what, done, total)))
    svc.store.dispose()
    assert [(done, total) for _, done, total in told] == [(i, 6) for i in range(7)]
    assert [what for what, _, _ in told] == [
        "making 20 sample contacts and their events",
        told[1][0],
        "scoring week 1 of 2 of history",
        "scoring week 2 of 2 of history",
        "publishing b2b-saas: every contact rescored as of now",
        "publishing b2b-saas-abm: every contact rescored as of now",
        "done",
    ]
    assert told[1][0].startswith("writing 20 contacts and ") and told[1][0].endswith(" events")
