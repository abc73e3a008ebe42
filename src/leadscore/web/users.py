"""Users of the web app (their sign-in names, passwords and roles), sign-in sessions
and CSRF tokens.

Passwords are hashed with scrypt (``hashlib.scrypt``, standard library; N=2^15,
r=8, p=1, a 16-byte random salt), compared in constant time. A session is a
random 32-byte token: the cookie carries the token and an HMAC-SHA256 of it
under a secret kept in the store (so a forged or altered cookie is refused
before any lookup); the store keeps only the token's SHA-256, with the user,
the session's CSRF token and its expiry.

Roles match the API scopes: viewer = read, editor = write, admin = admin.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..errors import UsageError
from ..service.auth import RANK
from ..store import web_tables as W

ROLES = {"viewer": "read", "editor": "write", "admin": "admin"}
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 10
SESSION_DAYS = 14


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str

    @property
    def scope(self) -> str:
        return ROLES[self.role]

    @property
    def actor(self) -> str:
        return f"user:{self.id}:{self.email}"

    def can(self, scope: str) -> bool:
        return RANK[self.scope] >= RANK[scope]


# ---------------------------------------------------------------- passwords
def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.cache
def _equaliser() -> str:
    """A stored hash to check unknown users' passwords against."""
    return hash_password(secrets.token_urlsafe(16))


# ---------------------------------------------------------------- users
def _user(row) -> User:
    return User(row.id, row.email, row.name, row.role)


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(
            f"unknown role {role!r}: use viewer (read), editor (write, adjust scores) or "
            "admin (publish models, manage users)"
        )


def create_user(conn: sa.Connection, email: str, password: str, role: str, name: str = "") -> User:
    """Add a user; the e-mail is the sign-in name (case-insensitive)."""
    check_role(role)
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise UsageError(f"{email!r} is not an e-mail address; users sign in with their e-mail")
    if len(password) < MIN_PASSWORD:
        raise UsageError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD}"
        )
    taken = conn.execute(sa.select(W.users.c.id).where(W.users.c.email == email)).first()
    if taken is not None:
        raise UsageError(
            f"a user {email!r} already exists; change it with `leadscore users set-role` "
            "or `leadscore users set-password`"
        )
    uid = conn.execute(
        sa.insert(W.users)
        .values(
            email=email,
            name=name.strip() or email.split("@")[0],
            role=role,
            password_hash=hash_password(password),
            created_at=datetime.now(UTC),
        )
        .returning(W.users.c.id)
    ).scalar_one()
    return User(uid, email, name.strip() or email.split("@")[0], role)


def find_user(conn: sa.Connection, email: str) -> User:
    row = conn.execute(sa.select(W.users).where(W.users.c.email == email.strip().lower())).first()
    if row is None:
        raise UsageError(f"no user {email!r}; list them with `leadscore users list`")
    return _user(row)


def list_users(conn: sa.Connection) -> list[tuple[User, datetime, datetime | None]]:
    rows = conn.execute(sa.select(W.users).order_by(W.users.c.email)).all()
    return [(_user(r), r.created_at, r.disabled_at) for r in rows]


def update_user(
    conn: sa.Connection,
    email: str,
    *,
    role: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> User:
    user = find_user(conn, email)
    values: dict = {}
    if role is not None:
        check_role(role)
        values["role"] = role
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise UsageError(f"the password is too short; use at least {MIN_PASSWORD} characters")
        values["password_hash"] = hash_password(password)
    if disabled is not None:
        values["disabled_at"] = datetime.now(UTC) if disabled else None
    if values:
        conn.execute(sa.update(W.users).where(W.users.c.id == user.id).values(**values))
    if password is not None or disabled:
        conn.execute(sa.delete(W.sessions).where(W.sessions.c.user_id == user.id))
    if password is not None or disabled is False:  # a new password or re-enabled: no lock-out
        from .throttle import clear_user

        clear_user(conn, user.email)
    return find_user(conn, email)


def authenticate(conn: sa.Connection, email: str, password: str) -> User | None:
    email = email.strip().lower()
    row = None
    if "\x00" not in email and len(email) <= W.users.c.email.type.length:  # else no such user
        row = conn.execute(sa.select(W.users).where(W.users.c.email == email)).first()
    if row is None:  # one hash, as for a real user, so the time tells nothing
        verify_password(password, _equaliser())
        return None
    if not verify_password(password, row.password_hash) or row.disabled_at is not None:
        return None
    return _user(row)


# ---------------------------------------------------------------- secret and sessions
def secret(conn: sa.Connection) -> bytes:
    """The cookie-signing secret, made on first use and kept in the store."""
    found = stored_secret(conn)
    if found is not None:
        return found
    value = secrets.token_hex(32)
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(W.settings).values(key="secret", value={"hex": value}))
    except sa.exc.IntegrityError:  # another worker made it first
        return secret(conn)
    return bytes.fromhex(value)


def sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(key: bytes, signed: str) -> str | None:
    value = signed.rpartition(".")[0]
    if not value or not hmac.compare_digest(sign(key, value), signed):
        return None
    return value


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: sa.Connection, user: User) -> tuple[str, str]:
    """A new session: returns (signed cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(sa.delete(W.sessions).where(W.sessions.c.expires_at < now))
    conn.execute(
        sa.insert(W.sessions).values(
            id_hash=_token_hash(token),
            user_id=user.id,
            csrf=csrf,
            created_at=now,
            expires_at=now + timedelta(days=SESSION_DAYS),
        )
    )
    return sign(secret(conn), token), csrf


def stored_secret(conn: sa.Connection) -> bytes | None:
    row = conn.execute(sa.select(W.settings.c.value).where(W.settings.c.key == "secret")).first()
    return None if row is None else bytes.fromhex(row.value["hex"])


def session_user(
    conn: sa.Connection, cookie: str, key: bytes | None = None
) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, or None."""
    token = unsign(key or secret(conn), cookie)
    if token is None:
        return None
    row = conn.execute(
        sa.select(W.users, W.sessions.c.csrf, W.sessions.c.expires_at)
        .select_from(W.sessions.join(W.users, W.users.c.id == W.sessions.c.user_id))
        .where(W.sessions.c.id_hash == _token_hash(token))
    ).first()
    if row is None or row.disabled_at is not None or row.expires_at < datetime.now(UTC):
        return None
    return _user(row), row.csrf


def end_session(conn: sa.Connection, cookie: str) -> None:
    token = unsign(secret(conn), cookie)
    if token is not None:
        conn.execute(sa.delete(W.sessions).where(W.sessions.c.id_hash == _token_hash(token)))


def get_setting(conn: sa.Connection, key: str, default: object) -> object:
    row = conn.execute(sa.select(W.settings.c.value).where(W.settings.c.key == key)).first()
    return default if row is None else row.value.get("v", default)


def put_setting(conn: sa.Connection, key: str, value: object) -> None:
    conn.execute(sa.delete(W.settings).where(W.settings.c.key == key))
    conn.execute(sa.insert(W.settings).values(key=key, value={"v": value}))
