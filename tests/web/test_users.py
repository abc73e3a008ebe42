"""Web users: password hashing, signed session cookies, roles; and `leadscore users`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.errors import UsageError
from leadscore.store import Store
from leadscore.web import users


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.dispose()


def test_passwords_are_salted_scrypt_hashes():
    one, two = users.hash_password("correct horse"), users.hash_password("correct horse")
    assert one != two and one.startswith("scrypt$32768$8$1$")
    assert "correct horse" not in one
    assert users.verify_password("correct horse", one)
    assert not users.verify_password("correct horsE", one)
    assert not users.verify_password("correct horse", "md5$whatever")


def test_signed_values_refuse_any_change():
    key = b"k" * 32
    signed = users.sign(key, "token")
    assert users.unsign(key, signed) == "token"
    assert users.unsign(key, "other" + signed[5:]) is None
    assert users.unsign(b"x" * 32, signed) is None
    assert users.unsign(key, "no-signature") is None


def test_sessions_end_on_sign_out_and_password_change(store):
    with store.write() as conn:
        user = users.create_user(conn, "Ann@Example.com", "ten-chars-ok", "editor")
        assert user.email == "ann@example.com" and user.scope == "write"
        assert user.can("read") and user.can("write") and not user.can("admin")
        cookie, csrf = users.start_session(conn, user)
        assert users.session_user(conn, cookie) == (user, csrf)
        users.end_session(conn, cookie)
        assert users.session_user(conn, cookie) is None
        cookie, _ = users.start_session(conn, user)
        users.update_user(conn, "ann@example.com", password="another-password")
        assert users.session_user(conn, cookie) is None
        assert users.authenticate(conn, "ann@example.com", "ten-chars-ok") is None
        assert users.authenticate(conn, "ANN@example.com", "another-password") == user
        users.update_user(conn, "ann@example.com", disabled=True)
        assert users.authenticate(conn, "ann@example.com", "another-password") is None


def test_bad_accounts_are_refused_with_the_fix(store):
    with store.write() as conn:
        with pytest.raises(UsageError, match="use viewer"):
            users.create_user(conn, "a@example.com", "long-enough-1", "boss")
        with pytest.raises(UsageError, match="at least 10"):
            users.create_user(conn, "a@example.com", "short", "viewer")
        with pytest.raises(UsageError, match="not an e-mail"):
            users.create_user(conn, "nobody", "long-enough-1", "viewer")
        users.create_user(conn, "a@example.com", "long-enough-1", "viewer")
        with pytest.raises(UsageError, match="already exists"):
            users.create_user(conn, "A@example.com", "long-enough-1", "viewer")


def test_users_command(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    run = CliRunner().invoke
    r = run(
        app,
        [
            "users",
            "create",
            "--email",
            "boss@example.com",
            "--role",
            "admin",
            "--password",
            "a-long-password",
            "--database",
            db,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "boss@example.com (admin) created" in r.output
    r = run(
        app,
        ["users", "set-role", "--email", "boss@example.com", "--role", "viewer", "--database", db],
    )
    assert r.exit_code == 0 and "now viewer" in r.output
    r = run(app, ["users", "list", "--database", db])
    assert "boss@example.com" in r.output and "viewer" in r.output
    r = run(
        app,
        [
            "users",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
            "--password",
            "a-long-password",
            "--database",
            db,
        ],
    )
    assert r.exit_code != 0
    store = Store(db)
    with store.read() as conn:
        assert [u.email for u, _, _ in users.list_users(conn)] == ["boss@example.com"]
    store.dispose()
