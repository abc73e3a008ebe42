"""Sample data for the web app: a store that looks like a running service."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadscore.store import Store
from leadscore.store import tables as T
from leadscore.web import accounts
from leadscore.web.sample import main


def test_sample_store_has_published_scores_history_and_an_admin(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    main(["--database", url, "--contacts", "30", "--password", "demo-password-1"])
    assert "30 contacts" in capsys.readouterr().out
    store = Store(url)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.scores)).scalar_one() == 30
        status = conn.execute(sa.select(T.model_versions.c.status)).scalars().all()
        assert status == ["published"]
        weeks = conn.execute(
            sa.select(sa.func.count(sa.distinct(T.score_history.c.at)))
        ).scalar_one()
        assert weeks == 13  # twelve weekly passes, then the publish
        assert accounts.authenticate(conn, "admin@example.com", "demo-password-1") is not None
    store.dispose()
    with pytest.raises(SystemExit, match="already holds contacts"):
        main(["--database", url, "--contacts", "30"])
