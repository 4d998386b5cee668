"""Wiring for the command line, the flows and the web app: settings → engine, the acting person.

`use_engine` points everything in this process at another database, `use_clock` at another
"now" (tests, benchmarks, replaying a day): the clock is a parameter, never read directly.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Engine

from ketnap.settings import get_settings
from models.actors import Actor
from models.database import make_engine

T = TypeVar("T")
_override: list[Engine] = []
_clock: list[datetime] = []


@lru_cache(maxsize=1)
def _configured_engine() -> Engine:
    return make_engine(get_settings().db_url)


def engine() -> Engine:
    return _override[-1] if _override else _configured_engine()


@contextmanager
def _pushed(stack: list[T], value: T) -> Iterator[T]:
    stack.append(value)
    try:
        yield value
    finally:
        stack.remove(value)


def use_engine(other: Engine) -> AbstractContextManager[Engine]:
    return _pushed(_override, other)


def now() -> datetime:
    return _clock[-1] if _clock else datetime.now(UTC)


def use_clock(moment: datetime) -> AbstractContextManager[datetime]:
    return _pushed(_clock, moment)


def transport() -> Any:
    """Where email goes: the configured SMTP server, or the maildir in KETNAP_HOME/mail."""
    from models.transports import MaildirTransport, Router, SmtpTransport

    s = get_settings()
    email = (SmtpTransport(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_starttls)
             if s.smtp_host else MaildirTransport(s.home / "mail"))
    return Router(email)


def delivery_options() -> dict[str, Any]:
    from ketnap.settings import quiet_window, secret_key

    s = get_settings()
    return {"quiet": quiet_window(s), "at_night": s.send_at_night, "public_url": s.public_url,
            "secret": secret_key(s), "sender": s.mail_from}


def cli_actor(name: str | None, role: str) -> Actor:
    return Actor(name or f"cli:{getpass.getuser()}", role)
