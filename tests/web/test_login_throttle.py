"""Sign-in back-off: wrong passwords per account and per client address, on both stores.

Defaults: an account backs off after 5 wrong passwords, an address after 10; the
first lock-out lasts 30 s and doubles with each further wrong password, up to 300 s
for an account and 3600 s for an address. The clock is the throttle's, moved by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadscore.service import create_app
from leadscore.store import tables as T
from leadscore.store import web_tables as W
from leadscore.web import throttle, users

from .helpers import PASSWORD, csrf_of, tiny_service

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VIEWER = "viewer@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    from ..service.helpers import postgres_database, postgres_schema

    server = request.getfixturevalue("postgres_url")
    return postgres_schema(postgres_database(server, "throttle"))


@pytest.fixture
def site(store_url):
    svc = tiny_service(store_url)
    app = create_app(svc.settings, service=svc, workers=False)
    clock = Clock()
    app.state.login_throttle.clock = clock
    yield app, clock
    svc.store.dispose()


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The e-mails whose password was actually checked."""
    seen: list[str] = []
    real = users.authenticate

    def spy(conn, email, password):
        seen.append(email)
        return real(conn, email, password)

    monkeypatch.setattr(users, "authenticate", spy)
    return seen


class Browser:
    """One client address with its sign-in form open."""

    def __init__(self, app, address: str):
        self.c = TestClient(app, client=(address, 40000))

    def sign_in(self, email: str, password: str):
        token = csrf_of(self.c.get("/login").text)  # a success ends the form's token
        self.c.cookies.delete("leadscore_session")
        return self.c.post(
            "/login",
            data={"csrf": token, "email": email, "password": password},
            follow_redirects=False,
        )


def test_fifteen_wrong_passwords_then_the_right_one_is_refused(site, checked):
    app, clock = site
    b = Browser(app, "198.51.100.7")
    codes = [b.sign_in(VIEWER, f"wrong-guess-{i}").status_code for i in range(15)]
    assert codes == [401] * 5 + [429] * 10
    right = b.sign_in(VIEWER, PASSWORD)
    assert right.status_code == 429
    assert right.headers["retry-after"] == "30"
    assert "Too many failed sign-ins for this account: try again in 30 s." in right.text
    assert "leadscore_session" not in right.headers.get("set-cookie", "")
    assert len(checked) == 5  # the 10 refused guesses and the right password: never checked

    clock.advance(20)
    assert b.sign_in(VIEWER, PASSWORD).headers["retry-after"] == "10"
    clock.advance(10)  # the 30 s have passed
    ok = b.sign_in(VIEWER, PASSWORD)
    assert ok.status_code == 303
    assert "leadscore_session=" in ok.headers["set-cookie"]

    # the success reset the account's counter: five more wrong passwords before a lock-out
    codes = [b.sign_in(VIEWER, f"again-{i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]


def test_the_lock_out_doubles_with_each_further_wrong_password_up_to_its_cap(site):
    app, clock = site
    b = Browser(app, "198.51.100.8")
    for i in range(5):
        assert b.sign_in(VIEWER, f"wrong-{i}").status_code == 401
    waits = []
    for i in range(6):  # a wrong password as soon as each lock-out ends
        refused = b.sign_in(VIEWER, "probe-password")
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(waits[-1])
        assert b.sign_in(VIEWER, f"late-{i}").status_code == 401
    # 5th failure: 30 s; 6th: 60; 7th: 120; 8th: 240; 9th and on: 480 capped at 300
    assert waits == [30, 60, 120, 240, 300, 300]


def test_an_unknown_account_backs_off_like_a_real_one(site):
    app, _ = site
    for n, email in enumerate((VIEWER, "nobody@example.com")):
        b = Browser(app, f"198.51.100.{9 + n}")
        answers = [b.sign_in(email, f"wrong-{i}") for i in range(6)]
        assert [r.status_code for r in answers] == [401] * 5 + [429]
        assert "for this account: try again in 30 s" in answers[-1].text


def test_one_address_guessing_many_accounts_is_stopped_and_others_are_not(site, checked):
    app, clock = site
    sprayer, colleague = Browser(app, "203.0.113.5"), Browser(app, "192.0.2.44")
    # one guess at each of ten accounts: no account reaches its limit, the address does
    for i in range(10):
        assert sprayer.sign_in(f"user{i}@example.com", "Winter2026!").status_code == 401
    refused = sprayer.sign_in(VIEWER, PASSWORD)
    assert refused.status_code == 429
    assert "from your address: try again in 30 s" in refused.text
    assert refused.headers["retry-after"] == "30"
    assert len(checked) == 10

    assert colleague.sign_in(VIEWER, PASSWORD).status_code == 303  # another address
    clock.advance(30)
    assert sprayer.sign_in(VIEWER, PASSWORD).status_code == 303  # the window has passed


def test_an_ipv6_client_counts_as_its_64_network():
    assert throttle.address_of("2001:db8:1:2:aaaa::1") == throttle.address_of("2001:db8:1:2::9")
    assert throttle.address_of("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert throttle.address_of("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.address_of("192.0.2.1") == "192.0.2.1"


def test_one_address_cannot_keep_the_real_user_out_for_long(site):
    """An attacker at one address retries the moment each lock-out ends; the real user,
    elsewhere, finds the account locked at t = 50 and tries again every 10 s. Worked by
    hand from the defaults (account 5 / 30 s / 300 s, address 10 / 30 s / 3600 s), the
    attacker's wrong passwords fall at
    t = 0, 10, 20, 30, 40 (account locked 30 s), 70 (60 s), 130 (120 s), 250 (240 s),
    490, 790 (300 s each; the address's 10th: locked 30 s), 1090 (address 60 s),
    1390 (120 s), 1690 (240 s), 1990 (address 480 s, until 2470): the account's
    lock-out ends at 2290 while the attacker's address still waits, and the user
    gets in then."""
    app, clock = site
    attacker, user = Browser(app, "203.0.113.66"), Browser(app, "192.0.2.10")
    guesses, next_try, t = [], 0, 0
    while True:
        if t >= next_try:
            r = attacker.sign_in(VIEWER, f"guess-{t}")
            if r.status_code == 401:
                guesses.append(t)
            else:
                next_try = t + int(r.headers["retry-after"])
        if t >= 50 and user.sign_in(VIEWER, PASSWORD).status_code == 303:
            break
        assert t < 4000, "the real user was kept out for over an hour"
        t += 10
        clock.advance(10)
    assert guesses == [0, 10, 20, 30, 40, 70, 130, 250, 490, 790, 1090, 1390, 1690, 1990]
    assert t == 2290


def test_the_counters_live_in_the_store_and_a_new_password_clears_the_account(site):
    app, _ = site
    b = Browser(app, "198.51.100.20")
    for i in range(5):
        b.sign_in(VIEWER, f"wrong-{i}")
    svc = app.state.service
    # a new app on the same store (a restart, another process) sees the lock-out
    again = create_app(svc.settings, service=svc, workers=False)
    again.state.login_throttle.clock = app.state.login_throttle.clock
    assert Browser(again, "198.51.100.21").sign_in(VIEWER, PASSWORD).status_code == 429
    with svc.store.write() as conn:
        users.update_user(conn, VIEWER, password="a-new-long-password")
        failed = conn.execute(
            sa.select(sa.func.count()).where(T.audit_log.c.action == "user.login_failed")
        ).scalar_one()
        keys = conn.execute(sa.select(W.login_throttle.c.kind)).scalars().all()
    assert failed == 5
    assert sorted(keys) == ["address"]  # the account's counter is gone
    assert b.sign_in(VIEWER, "a-new-long-password").status_code == 303


def test_a_control_character_in_the_email_is_refused_not_a_server_error(site):
    app, _ = site
    r = Browser(app, "198.51.100.30").sign_in("vie\x00wer@example.com", "nope-nope-nope")
    assert r.status_code == 401


def test_an_unknown_account_costs_one_password_hash_like_a_real_one(site, monkeypatch):
    """Two hashes for an unknown e-mail against one for a real user told them apart."""
    import hashlib

    app, _ = site
    b = Browser(app, "198.51.100.31")
    b.sign_in("warm-up@example.com", "nope-nope-nope")
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    for email in (VIEWER, "nobody@example.com"):
        calls.clear()
        assert b.sign_in(email, "nope-nope-nope").status_code == 401
        assert len(calls) == 1, email
