"""The contact page shows the recorded stage: kept after the reset, with when it was
entered, and the timeline replays the reset from the entry.

``life``: a business e-mail gives 20 (fit); a form submit 30 (engagement, which resets
on stage). The submit makes contact a MQL (50); the reset leaves 20, still MQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from leadscore.service import versions
from leadscore.service.schemas import EventIn

from .helpers import client, sign_in, tiny_service

LIFE = """name: life
groups:
  fit:
    rules: [{name: Business email, when: {email_type: business}, points: 20}]
  engagement:
    reset_on_stage: true
    rules: [{name: Demo request, on: {type: form_submit}, points: 30}]
thresholds: [{stage: MQL, when: {total: {gte: 50}}}]
default_stage: lead
"""


def test_the_kept_stage_shows_with_its_entry_after_the_reset(tmp_path):
    svc = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    draft = versions.create_draft(svc, LIFE, {}, "test")
    versions.publish(svc, "life", draft["version"], "test", fire_triggers=False)
    ts = datetime.now(UTC) - timedelta(days=3)
    svc.ingest([EventIn(contact_id="a", type="form_submit", ts=ts)], "test")
    c = client(svc)
    sign_in(c, "viewer")
    html = c.get("/contacts/a").text
    card = html[
        html.index('data-model="life"', html.index('class="card" aria-labelledby="score-')) :
    ]
    card = card[: card.index("</section>")]
    assert re.search(r'data-testid="total"[^>]*>20<', card)  # 50, then reset to 20
    assert ">MQL</span>" in card  # the stage stays
    since = re.search(r'data-testid="stage-entered"> since <time datetime="([^"]+)"', card)
    assert since is not None
    assert datetime.fromisoformat(since.group(1)) >= ts  # entered when the submit was scored
    assert "set in the CRM" not in card
    # the story: the submit, the entry, and nothing that takes the stage away
    timeline = card[card.index('<ol class="timeline"') : card.index("</ol>")]
    assert "entered MQL" in timeline
    assert "back to lead" not in timeline
    svc.store.dispose()
