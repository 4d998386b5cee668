"""Accounts: Argon2 passwords, roles over the organisation tree, browser sessions, API tokens, login limits.

Every change to an account (created, role given or taken, password set, sessions closed, token
issued or revoked, disabled) is an event of the `accounts` audit chain. Failed logins are
counted per username and per address; past the limit the login is refused until the window
passes, whatever the password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update

from models.access import GRANT_ROLES, Grant, Principal, grant_problem
from models.actors import Actor
from models.audit.trail import append_to_chain
from models.database import reading
from models.tables import Account, AccountGrant, ApiToken, LoginAttempt, Member, OrgUnit, WebSession

ACCOUNT = Account.__table__           # type: ignore[attr-defined]
GRANT = AccountGrant.__table__        # type: ignore[attr-defined]
SESSION = WebSession.__table__        # type: ignore[attr-defined]
TOKEN = ApiToken.__table__            # type: ignore[attr-defined]
ATTEMPT = LoginAttempt.__table__      # type: ignore[attr-defined]
MEMBER = Member.__table__             # type: ignore[attr-defined]
UNIT = OrgUnit.__table__              # type: ignore[attr-defined]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10
SESSION_IDLE = timedelta(days=7)          # a secretary's phone stays logged in between monthly meetings
SESSION_MAX = timedelta(days=30)
SEEN_EVERY = timedelta(minutes=5)         # how often a session's last_seen_at is written
LIMIT_WINDOW = timedelta(minutes=15)
LIMIT_PER_USERNAME = 5
LIMIT_PER_ADDRESS = 30
TOKEN_PREFIX = "kn_"
CHAIN = "accounts"

_hasher = PasswordHasher()                # Argon2id, RFC 9106 low-memory profile (argon2-cffi defaults)
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """A refused account change: the field, a machine code, English and Vietnamese explanations."""

    def __init__(self, field: str, code: str, message: str, message_vi: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.code, self.message, self.message_vi = field, code, message, message_vi


class LoginRefused(Exception):
    def __init__(self, code: str, message_vi: str, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.code, self.message_vi, self.retry_after = code, message_vi, retry_after


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    password: str
    grants: tuple[Grant, ...] = ()
    member_code: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OpenedSession:
    cookie: str                  # the value the browser holds
    csrf_token: str
    principal: Principal
    expires_at: datetime


@dataclass
class LoadedSession:
    principal: Principal
    csrf_token: str
    session_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(username: str, password: str) -> AccountError | None:
    if len(password) < MIN_PASSWORD:
        return AccountError("password", "too_short", f"must have at least {MIN_PASSWORD} characters",
                            f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    if username and username.lower() in password.lower():
        return AccountError("password", "contains_username", "must not contain the username",
                            "Mật khẩu không được chứa tên đăng nhập.")
    return None


def _check_new(conn: Any, new: NewAccount) -> tuple[str, int | None]:
    username = new.username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("username", "invalid", "3-64 characters: lower-case letters, digits, '.', '_' or '-'",
                           "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, chữ số, “.”, “_” hoặc “-”.")
    if conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == username)).first():
        raise AccountError("username", "taken", f"{username!r} is already used", f"Tên đăng nhập “{username}” đã có.")
    if not new.display_name.strip():
        raise AccountError("display_name", "required", "is required", "Chưa nhập họ và tên.")
    problem = password_problem(username, new.password)
    if problem:
        raise problem
    member_id = None
    if new.member_code:
        member_id = conn.execute(select(MEMBER.c.id).where(MEMBER.c.code == new.member_code.strip())).scalar()
        if member_id is None:
            raise AccountError("member_code", "unknown_member", f"no party member with code {new.member_code!r}",
                               f"Không có đảng viên có mã “{new.member_code}”.")
    return username, member_id


def _check_grant(conn: Any, grant: Grant, member_id: int | None) -> None:
    kind = None
    if grant.unit_id is not None:
        kind = conn.execute(select(UNIT.c.kind).where(UNIT.c.id == grant.unit_id)).scalar()
        if kind is None:
            raise AccountError("unit_id", "unknown_unit", f"no unit {grant.unit_id!r}",
                               f"Không có tổ chức “{grant.unit_id}”.")
    problem = grant_problem(grant, kind, has_member=member_id is not None)
    if problem:
        raise AccountError(*problem)


def create_account(engine: Engine, new: NewAccount, actor: Actor, *, now: datetime | None = None) -> int:
    """Create an account with its grants, all or nothing."""
    now = now or datetime.now(UTC)
    password_hash = hash_password(new.password)          # slow on purpose: outside the transaction
    with engine.begin() as conn:
        username, member_id = _check_new(conn, new)
        for grant in new.grants:
            _check_grant(conn, grant, member_id)
        account_id = conn.execute(insert(ACCOUNT).values(
            username=username, display_name=new.display_name.strip(), password_hash=password_hash,
            member_id=member_id, email=(new.email or None), active=True, created_at=now, password_changed_at=now,
        ).returning(ACCOUNT.c.id)).scalar_one()
        for grant in dict.fromkeys(new.grants):
            conn.execute(insert(GRANT).values(account_id=account_id, role=grant.role, unit_id=grant.unit_id,
                                              created_at=now))
        append_to_chain(conn, CHAIN, kind="account_created", actor=actor, now=now, payload={
            "account_id": account_id, "username": username, "member_id": member_id,
            "grants": [[g.role, g.unit_id] for g in new.grants]})
    return account_id


def add_grant(engine: Engine, account_id: int, grant: Grant, actor: Actor, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        member_id = _account_row(conn, account_id)["member_id"]
        _check_grant(conn, grant, member_id)
        exists = conn.execute(select(GRANT.c.id).where(
            GRANT.c.account_id == account_id, GRANT.c.role == grant.role,
            GRANT.c.unit_id.is_(None) if grant.unit_id is None else GRANT.c.unit_id == grant.unit_id)).first()
        if exists:
            return
        conn.execute(insert(GRANT).values(account_id=account_id, role=grant.role, unit_id=grant.unit_id, created_at=now))
        append_to_chain(conn, CHAIN, kind="grant_added", actor=actor, now=now,
                        payload={"account_id": account_id, "role": grant.role, "unit_id": grant.unit_id})


def remove_grant(engine: Engine, account_id: int, grant_id: int, actor: Actor, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(select(GRANT).where(GRANT.c.id == grant_id, GRANT.c.account_id == account_id)).mappings().first()
        if row is None:
            raise AccountError("grant_id", "unknown_grant", f"account {account_id} has no grant {grant_id}",
                               "Tài khoản không có quyền này.")
        conn.execute(delete(GRANT).where(GRANT.c.id == grant_id))
        append_to_chain(conn, CHAIN, kind="grant_removed", actor=actor, now=now,
                        payload={"account_id": account_id, "role": row["role"], "unit_id": row["unit_id"]})


def set_password(engine: Engine, account_id: int, password: str, actor: Actor, *, current: str | None = None,
                 now: datetime | None = None) -> None:
    """Set a new password and close every session of the account (tokens stay: they are revoked one by one)."""
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        row = _account_row(conn, account_id)
    if current is not None and not _verify(row["password_hash"], current):
        raise AccountError("current_password", "wrong_password", "the current password is wrong",
                           "Mật khẩu hiện tại không đúng.")
    problem = password_problem(row["username"], password)
    if problem:
        raise problem
    password_hash = hash_password(password)
    with engine.begin() as conn:
        conn.execute(update(ACCOUNT).where(ACCOUNT.c.id == account_id)
                     .values(password_hash=password_hash, password_changed_at=now))
        conn.execute(delete(SESSION).where(SESSION.c.account_id == account_id))
        append_to_chain(conn, CHAIN, kind="password_changed", actor=actor, now=now, payload={"account_id": account_id})


def set_active(engine: Engine, account_id: int, active: bool, actor: Actor, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        _account_row(conn, account_id)
        conn.execute(update(ACCOUNT).where(ACCOUNT.c.id == account_id).values(active=active))
        if not active:
            conn.execute(delete(SESSION).where(SESSION.c.account_id == account_id))
            conn.execute(update(TOKEN).where(TOKEN.c.account_id == account_id, TOKEN.c.revoked_at.is_(None))
                         .values(revoked_at=now))
        append_to_chain(conn, CHAIN, kind="account_enabled" if active else "account_disabled", actor=actor, now=now,
                        payload={"account_id": account_id})


def _account_row(conn: Any, account_id: int) -> Any:
    row = conn.execute(select(ACCOUNT).where(ACCOUNT.c.id == account_id)).mappings().first()
    if row is None:
        raise AccountError("account_id", "unknown_account", f"no account {account_id}", "Không có tài khoản này.")
    return row


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- principals ---------------------------------------------------------------------------------

def load_principal(conn: Any, account_id: int) -> Principal | None:
    row = conn.execute(select(ACCOUNT).where(ACCOUNT.c.id == account_id)).mappings().first()
    if row is None or not row["active"]:
        return None
    grants = conn.execute(select(GRANT.c.id, GRANT.c.role, GRANT.c.unit_id)
                          .where(GRANT.c.account_id == account_id).order_by(GRANT.c.id)).all()
    return Principal(account_id=row["id"], username=row["username"], display_name=row["display_name"],
                     member_id=row["member_id"], grants=tuple(Grant(g.role, g.unit_id, g.id) for g in grants))


# --- login and sessions -------------------------------------------------------------------------

def authenticate(engine: Engine, username: str, password: str, address: str, *,
                 now: datetime | None = None) -> Principal:
    """The account's principal, or LoginRefused; failures are counted and limited."""
    now = now or datetime.now(UTC)
    username = (username or "").strip().lower()[:64]
    address = (address or "?")[:64]
    since = now - LIMIT_WINDOW
    with reading(engine) as conn:
        by_name = conn.execute(select(func.count()).where(ATTEMPT.c.username == username, ATTEMPT.c.at > since)).scalar_one()
        by_address = conn.execute(select(func.count()).where(ATTEMPT.c.address == address, ATTEMPT.c.at > since)).scalar_one()
        row = conn.execute(select(ACCOUNT.c.id, ACCOUNT.c.password_hash, ACCOUNT.c.active)
                           .where(ACCOUNT.c.username == username)).first()
    if by_name >= LIMIT_PER_USERNAME or by_address >= LIMIT_PER_ADDRESS:
        raise LoginRefused("login_rate_limited",
                           f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {int(LIMIT_WINDOW.total_seconds() // 60)} phút.",
                           retry_after=int(LIMIT_WINDOW.total_seconds()))
    ok = _verify(row.password_hash if row else _DUMMY_HASH, password or "") and row is not None and row.active
    with engine.begin() as conn:
        if not ok:
            conn.execute(insert(ATTEMPT).values(username=username, address=address, at=now))
        else:
            conn.execute(delete(ATTEMPT).where(ATTEMPT.c.username == username))
            if _hasher.check_needs_rehash(row.password_hash):
                conn.execute(update(ACCOUNT).where(ACCOUNT.c.id == row.id).values(password_hash=hash_password(password)))
        principal = load_principal(conn, row.id) if ok else None
    if principal is None:
        raise LoginRefused("login_failed", "Tên đăng nhập hoặc mật khẩu không đúng.")
    return principal


def open_session(engine: Engine, principal: Principal, *, user_agent: str | None = None,
                 now: datetime | None = None) -> OpenedSession:
    now = now or datetime.now(UTC)
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now + SESSION_MAX
    with engine.begin() as conn:
        conn.execute(insert(SESSION).values(id=_sha(cookie), account_id=principal.account_id, csrf_token=csrf,
                                            created_at=now, last_seen_at=now, expires_at=expires,
                                            user_agent=(user_agent or "")[:200] or None))
        conn.execute(delete(SESSION).where(SESSION.c.account_id == principal.account_id, SESSION.c.expires_at < now))
    return OpenedSession(cookie, csrf, principal, expires)


def load_session(engine: Engine, cookie: str | None, *, now: datetime | None = None) -> LoadedSession | None:
    if not cookie or len(cookie) > 128:
        return None
    now = now or datetime.now(UTC)
    session_id = _sha(cookie)
    with reading(engine) as conn:
        row = conn.execute(select(SESSION).where(SESSION.c.id == session_id)).mappings().first()
        if row is None:
            return None
        expires_at, last_seen = _aware(row["expires_at"]), _aware(row["last_seen_at"])
        if expires_at <= now or last_seen + SESSION_IDLE <= now:
            return None
        principal = load_principal(conn, row["account_id"])
    if principal is None:
        return None
    if now - last_seen > SEEN_EVERY:
        with engine.begin() as conn:
            conn.execute(update(SESSION).where(SESSION.c.id == session_id).values(last_seen_at=now))
    return LoadedSession(principal, row["csrf_token"], session_id)


def close_session(engine: Engine, cookie: str | None) -> None:
    if cookie:
        with engine.begin() as conn:
            conn.execute(delete(SESSION).where(SESSION.c.id == _sha(cookie)))


def close_all_sessions(engine: Engine, account_id: int, actor: Actor, *, now: datetime | None = None) -> int:
    """Log the account out everywhere: every browser session ends now."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        closed = conn.execute(delete(SESSION).where(SESSION.c.account_id == account_id)).rowcount
        append_to_chain(conn, CHAIN, kind="sessions_closed", actor=actor, now=now,
                        payload={"account_id": account_id, "sessions": closed})
    return int(closed or 0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- API tokens ---------------------------------------------------------------------------------

def issue_token(engine: Engine, account_id: int, name: str, actor: Actor, *, days: int | None = 365,
                now: datetime | None = None) -> tuple[int, str]:
    """A new API token (shown once) and its id."""
    now = now or datetime.now(UTC)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("name", "invalid", "1-100 characters", "Tên mã truy cập gồm 1–100 ký tự.")
    if days is not None and not 1 <= days <= 3650:
        raise AccountError("days", "out_of_range", "must be between 1 and 3650", "Thời hạn từ 1 đến 3650 ngày.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        _account_row(conn, account_id)
        token_id = conn.execute(insert(TOKEN).values(
            account_id=account_id, name=name, token_hash=_sha(token), prefix=token[:9], created_at=now,
            expires_at=now + timedelta(days=days) if days else None).returning(TOKEN.c.id)).scalar_one()
        append_to_chain(conn, CHAIN, kind="token_issued", actor=actor, now=now,
                        payload={"account_id": account_id, "token_id": token_id, "name": name})
    return token_id, token


def revoke_token(engine: Engine, account_id: int, token_id: int, actor: Actor, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        done = conn.execute(update(TOKEN).where(TOKEN.c.id == token_id, TOKEN.c.account_id == account_id,
                                                TOKEN.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
        if not done:
            raise AccountError("token_id", "unknown_token", f"account {account_id} has no active token {token_id}",
                               "Không có mã truy cập này.")
        append_to_chain(conn, CHAIN, kind="token_revoked", actor=actor, now=now,
                        payload={"account_id": account_id, "token_id": token_id})


def principal_for_token(engine: Engine, token: str | None, *, now: datetime | None = None) -> Principal | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        row = conn.execute(select(TOKEN).where(TOKEN.c.token_hash == _sha(token))).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if row["expires_at"] is not None and _aware(row["expires_at"]) <= now:
            return None
        principal = load_principal(conn, row["account_id"])
    if principal is not None and (row["last_used_at"] is None or now - _aware(row["last_used_at"]) > SEEN_EVERY):
        with engine.begin() as conn:
            conn.execute(update(TOKEN).where(TOKEN.c.id == row["id"]).values(last_used_at=now))
    return principal


# --- listings -----------------------------------------------------------------------------------

def list_accounts(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        accounts = conn.execute(select(ACCOUNT.c.id, ACCOUNT.c.username, ACCOUNT.c.display_name, ACCOUNT.c.active,
                                       ACCOUNT.c.email, MEMBER.c.code.label("member_code"))
                                .select_from(ACCOUNT.outerjoin(MEMBER, MEMBER.c.id == ACCOUNT.c.member_id))
                                .order_by(ACCOUNT.c.username)).mappings().all()
        grants = conn.execute(select(GRANT.c.id, GRANT.c.account_id, GRANT.c.role, GRANT.c.unit_id, UNIT.c.name)
                              .select_from(GRANT.outerjoin(UNIT, UNIT.c.id == GRANT.c.unit_id))
                              .order_by(GRANT.c.id)).mappings().all()
        sessions = dict(conn.execute(select(SESSION.c.account_id, func.count()).group_by(SESSION.c.account_id)).all())
    out = []
    for a in accounts:
        out.append(dict(a) | {
            "grants": [{"id": g["id"], "role": g["role"], "unit_id": g["unit_id"], "unit_name": g["name"]}
                       for g in grants if g["account_id"] == a["id"]],
            "sessions": sessions.get(a["id"], 0)})
    return out


def list_tokens(engine: Engine, account_id: int) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(TOKEN.c.id, TOKEN.c.name, TOKEN.c.prefix, TOKEN.c.created_at, TOKEN.c.expires_at,
                                   TOKEN.c.last_used_at, TOKEN.c.revoked_at)
                            .where(TOKEN.c.account_id == account_id).order_by(TOKEN.c.id)).mappings().all()
    return [dict(r) for r in rows]


__all__ = ["GRANT_ROLES", "AccountError", "LoginRefused", "NewAccount", "add_grant", "authenticate",
           "close_all_sessions", "close_session", "create_account", "issue_token", "list_accounts", "list_tokens",
           "load_principal", "load_session", "open_session", "principal_for_token", "remove_grant", "revoke_token",
           "set_active", "set_password"]
