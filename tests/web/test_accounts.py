"""Accounts on both databases: Argon2 hashes, grants scoped to the tree, sessions, tokens, login limits, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from models import accounts
from models.access import Grant
from models.accounts import ACCOUNT, ATTEMPT, SESSION, AccountError, LoginRefused, NewAccount
from models.audit.trail import verify
from models.tables import AuditEvent
from tests.support import NOW
from tests.web.conftest import ADMIN

AUDIT = AuditEvent.__table__
PASSWORD = "mat-khau-dai-du-10"


def new(username: str = "bithu.test", *grants: Grant, member: str | None = None, password: str = PASSWORD) -> NewAccount:
    return NewAccount(username, "Bí thư Thử", password, grants or (Grant("secretary", "cb-ban-na-la"),), member)


def create(engine: Engine, *args: object, **kw: object) -> int:
    return accounts.create_account(engine, new(*args, **kw), ADMIN, now=NOW)  # type: ignore[arg-type]


def test_password_is_stored_as_argon2id_and_verifies(org: Engine) -> None:
    account_id = create(org)
    with org.connect() as conn:
        stored = conn.execute(select(ACCOUNT.c.password_hash).where(ACCOUNT.c.id == account_id)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    principal = accounts.authenticate(org, "BITHU.TEST", PASSWORD, "10.0.0.1", now=NOW)
    assert principal.account_id == account_id and principal.grants == (Grant("secretary", "cb-ban-na-la"),)


@pytest.mark.parametrize(("account", "field", "code"), [
    (new("ab"), "username", "invalid"),
    (new("Bí thư"), "username", "invalid"),
    (new(password="ngan"), "password", "too_short"),
    (new(password="bithu.test-123456"), "password", "contains_username"),
    (new("x.sec", Grant("secretary", "xa-muong-bu")), "unit_id", "not_a_cell"),
    (new("x.sec", Grant("secretary")), "unit_id", "required"),
    (new("x.dept", Grant("organisation_department", "cb-ban-na-la")), "unit_id", "not_a_committee"),
    (new("x.dept", Grant("organisation_department", "ban-na-la")), "unit_id", "not_a_committee"),
    (new("x.spon", Grant("sponsor")), "member_code", "required"),
    (new("x.spon", Grant("sponsor", "cb-ban-na-la"), member="NL02"), "unit_id", "not_scoped"),
    (new("x.adm", Grant("admin", "xa-muong-bu")), "unit_id", "not_scoped"),
    (new("x.bad", Grant("superuser")), "role", "unknown_role"),
    (new("x.unit", Grant("secretary", "no-such-cell")), "unit_id", "unknown_unit"),
    (new("x.mem", Grant("sponsor"), member="ZZ99"), "member_code", "unknown_member"),
])
def test_bad_accounts_are_refused_naming_the_field_and_nothing_is_written(org: Engine, account: NewAccount, field: str,
                                                                          code: str) -> None:
    with pytest.raises(AccountError) as caught:
        accounts.create_account(org, account, ADMIN, now=NOW)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert caught.value.message_vi            # a Vietnamese sentence for the page
    with org.connect() as conn:
        assert conn.execute(select(ACCOUNT.c.id)).first() is None
        assert conn.execute(select(AUDIT.c.id).where(AUDIT.c.chain_key == "accounts")).first() is None


def test_a_taken_username_is_refused(org: Engine) -> None:
    create(org)
    with pytest.raises(AccountError) as caught:
        create(org)
    assert (caught.value.field, caught.value.code) == ("username", "taken")


def test_wrong_password_unknown_user_and_disabled_account_all_fail_alike(org: Engine) -> None:
    account_id = create(org)
    for username, password in (("bithu.test", "sai-mat-khau-123"), ("nobody", PASSWORD)):
        with pytest.raises(LoginRefused) as caught:
            accounts.authenticate(org, username, password, "10.0.0.1", now=NOW)
        assert caught.value.code == "login_failed"
    accounts.set_active(org, account_id, False, ADMIN, now=NOW)
    with pytest.raises(LoginRefused):
        accounts.authenticate(org, "bithu.test", PASSWORD, "10.0.0.2", now=NOW)


def test_five_failures_lock_the_username_for_the_window_even_with_the_right_password(org: Engine) -> None:
    create(org)
    for i in range(accounts.LIMIT_PER_USERNAME):
        with pytest.raises(LoginRefused):
            accounts.authenticate(org, "bithu.test", f"wrong-{i}-xxxxxx", f"10.0.0.{i}", now=NOW + timedelta(seconds=i))
    with pytest.raises(LoginRefused) as caught:
        accounts.authenticate(org, "bithu.test", PASSWORD, "10.9.9.9", now=NOW + timedelta(minutes=1))
    assert caught.value.code == "login_rate_limited" and caught.value.retry_after
    # once the window has passed the right password works, and the failures are forgotten
    later = NOW + accounts.LIMIT_WINDOW + timedelta(minutes=1)
    assert accounts.authenticate(org, "bithu.test", PASSWORD, "10.9.9.9", now=later).username == "bithu.test"
    with org.connect() as conn:
        assert conn.execute(select(ATTEMPT.c.id).where(ATTEMPT.c.username == "bithu.test")).first() is None


def test_one_address_guessing_many_usernames_is_limited(org: Engine) -> None:
    create(org)
    for i in range(accounts.LIMIT_PER_ADDRESS):
        with pytest.raises(LoginRefused):
            accounts.authenticate(org, f"guess{i}", "whatever-123456", "203.0.113.7", now=NOW)
    with pytest.raises(LoginRefused) as caught:
        accounts.authenticate(org, "bithu.test", PASSWORD, "203.0.113.7", now=NOW)
    assert caught.value.code == "login_rate_limited"
    assert accounts.authenticate(org, "bithu.test", PASSWORD, "198.51.100.1", now=NOW)   # another address is not


def test_sessions_expire_when_idle_or_old_and_only_their_hash_is_stored(org: Engine) -> None:
    create(org)
    principal = accounts.authenticate(org, "bithu.test", PASSWORD, "10.0.0.1", now=NOW)
    opened = accounts.open_session(org, principal, user_agent="Mozilla/5.0 (Android)", now=NOW)
    with org.connect() as conn:
        ids = conn.execute(select(SESSION.c.id)).scalars().all()
    assert opened.cookie not in ids and len(ids) == 1
    assert accounts.load_session(org, opened.cookie, now=NOW + timedelta(days=6)) is not None   # also refreshes last_seen
    assert accounts.load_session(org, opened.cookie, now=NOW + timedelta(days=12)) is not None
    assert accounts.load_session(org, opened.cookie, now=NOW + timedelta(days=12) + accounts.SESSION_IDLE) is None
    again = accounts.open_session(org, principal, now=NOW)
    assert accounts.load_session(org, again.cookie, now=NOW + accounts.SESSION_MAX) is None
    assert accounts.load_session(org, "not-a-session", now=NOW) is None
    assert accounts.load_session(org, "x" * 500, now=NOW) is None


def test_logout_everywhere_and_a_new_password_end_every_session(org: Engine) -> None:
    account_id = create(org)
    principal = accounts.authenticate(org, "bithu.test", PASSWORD, "10.0.0.1", now=NOW)
    phone, desk = (accounts.open_session(org, principal, now=NOW) for _ in range(2))
    assert accounts.close_all_sessions(org, account_id, ADMIN, now=NOW) == 2
    assert accounts.load_session(org, phone.cookie, now=NOW) is None and accounts.load_session(org, desk.cookie, now=NOW) is None
    phone = accounts.open_session(org, principal, now=NOW)
    with pytest.raises(AccountError) as caught:
        accounts.set_password(org, account_id, "mat-khau-moi-12345", ADMIN, current="wrong-current-pw", now=NOW)
    assert caught.value.field == "current_password"
    assert accounts.load_session(org, phone.cookie, now=NOW) is not None       # a refused change ends nothing
    accounts.set_password(org, account_id, "mat-khau-moi-12345", ADMIN, current=PASSWORD, now=NOW)
    assert accounts.load_session(org, phone.cookie, now=NOW) is None
    with pytest.raises(LoginRefused):
        accounts.authenticate(org, "bithu.test", PASSWORD, "10.0.0.1", now=NOW)
    assert accounts.authenticate(org, "bithu.test", "mat-khau-moi-12345", "10.0.0.1", now=NOW)


def test_tokens_work_until_revoked_expired_or_the_account_is_disabled(org: Engine) -> None:
    account_id = create(org)
    token_id, token = accounts.issue_token(org, account_id, "điện thoại", ADMIN, days=30, now=NOW)
    assert token.startswith("kn_")
    assert accounts.principal_for_token(org, token, now=NOW).account_id == account_id
    assert accounts.principal_for_token(org, token, now=NOW + timedelta(days=31)) is None
    assert accounts.principal_for_token(org, token[:-1] + ("A" if token[-1] != "A" else "B"), now=NOW) is None
    accounts.revoke_token(org, account_id, token_id, ADMIN, now=NOW)
    assert accounts.principal_for_token(org, token, now=NOW) is None
    with pytest.raises(AccountError):
        accounts.revoke_token(org, account_id, token_id, ADMIN, now=NOW)        # twice: nothing to revoke
    _, second = accounts.issue_token(org, account_id, "máy tính", ADMIN, now=NOW)
    accounts.set_active(org, account_id, False, ADMIN, now=NOW)
    assert accounts.principal_for_token(org, second, now=NOW) is None
    accounts.set_active(org, account_id, True, ADMIN, now=NOW)
    assert accounts.principal_for_token(org, second, now=NOW) is None            # re-enabling does not revive tokens


def test_grants_can_be_added_and_removed_and_every_change_is_in_a_verified_audit_chain(org: Engine) -> None:
    account_id = create(org, member="NL01")
    accounts.add_grant(org, account_id, Grant("sponsor"), ADMIN, now=NOW)
    accounts.add_grant(org, account_id, Grant("sponsor"), ADMIN, now=NOW)      # twice: no duplicate
    with org.connect() as conn:
        principal = accounts.load_principal(conn, account_id)
    assert principal is not None and principal.roles == {"secretary", "sponsor"}
    sponsor_grant = next(g for g in principal.grants if g.role == "sponsor")
    accounts.remove_grant(org, account_id, sponsor_grant.id, ADMIN, now=NOW)
    with org.connect() as conn:
        kinds = conn.execute(select(AUDIT.c.kind).where(AUDIT.c.chain_key == "accounts").order_by(AUDIT.c.seq)).scalars().all()
        payloads = conn.execute(select(AUDIT.c.payload).where(AUDIT.c.chain_key == "accounts")).scalars().all()
    assert kinds == ["account_created", "grant_added", "grant_removed"]
    assert all(PASSWORD not in p and "$argon2" not in p for p in payloads)
    assert verify(org).ok
