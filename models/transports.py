"""How a message leaves ketnap: email over SMTP, Apprise URLs (Telegram, webhooks, …), or a maildir.

The maildir is the embedded default when no SMTP server is configured: messages are written as
.eml files under KETNAP_HOME/mail so a visitor of the demo can read them. A transport raises
DeliveryFailed when a message could not be handed over; the outbox then retries it later.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Protocol


class DeliveryFailed(Exception):
    """The message was not (fully) handed over; `done` lists channels that did get it."""

    def __init__(self, message: str, done: tuple[str, ...] = ()):
        self.done = done
        super().__init__(message)


@dataclass(frozen=True)
class Message:
    notification_id: int
    to_name: str
    to_email: str | None
    apprise_urls: tuple[str, ...]
    channel: str                       # email | apprise | both
    subject: str
    text: str
    sender: str = "ketnap <ketnap@localhost>"
    done: tuple[str, ...] = ()         # channels an earlier attempt already delivered to
    sent_at: datetime | None = None

    def email(self) -> MIMEText:
        if not self.to_email:
            raise DeliveryFailed("the recipient has no email address")
        msg = MIMEText(self.text, "plain", "utf-8")
        msg["From"] = self.sender
        msg["To"] = formataddr((self.to_name, self.to_email))
        # Header() rather than the modern policy: Python 3.11's folding drops spaces in long
        # non-ASCII subjects ("dự bị" -> "dựbị", CPython gh-144156).
        msg["Subject"] = Header(self.subject, "utf-8")
        msg["Date"] = formatdate(self.sent_at.timestamp() if self.sent_at else None, localtime=False)
        msg["Message-ID"] = f"<notification-{self.notification_id}@ketnap>"
        return msg


class Transport(Protocol):
    def send(self, message: Message) -> str: ...
    def close(self) -> None: ...


@dataclass
class SmtpTransport:
    """One SMTP connection reused across a batch; reconnects once if the server dropped it."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    _conn: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def _connect(self) -> smtplib.SMTP:
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
            if self.user:
                conn.login(self.user, self.password or "")
            return conn
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"cannot reach the SMTP server {self.host}:{self.port}: {type(exc).__name__}") from None

    def send(self, message: Message) -> str:
        email = message.email()
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.send_message(email)
                return "email"
            except smtplib.SMTPServerDisconnected:
                self._conn = None
                if attempt == 2:
                    raise DeliveryFailed("the SMTP server closed the connection") from None
            except (OSError, smtplib.SMTPException) as exc:
                self._conn = None
                raise DeliveryFailed(f"SMTP refused the message: {type(exc).__name__}: {exc}") from None
        raise DeliveryFailed("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn = None


@dataclass
class MaildirTransport:
    """Writes each email as an .eml file (the embedded default, and the demo's inbox)."""

    folder: Path

    def send(self, message: Message) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"notification-{message.notification_id}.eml").write_bytes(bytes(message.email()))
        return "email"

    def close(self) -> None:
        return None


def send_apprise(message: Message) -> str:
    import apprise

    if not message.apprise_urls:
        raise DeliveryFailed("the recipient has no Apprise URL")
    notifier = apprise.Apprise()
    for url in message.apprise_urls:
        if not notifier.add(url):
            raise DeliveryFailed("an Apprise URL is not valid")
    if not notifier.notify(title=message.subject, body=message.text):
        raise DeliveryFailed("Apprise could not deliver the message")
    return "apprise"


@dataclass
class Router:
    """Sends by the recipient's preference: email, Apprise, or both (both must succeed)."""

    email: Transport

    def send(self, message: Message) -> str:
        """Every channel the recipient prefers that an earlier attempt did not already reach."""
        done = list(message.done)
        wanted = [c for c in ("email", "apprise") if message.channel in (c, "both") and c not in done]
        for channel in wanted:
            try:
                self.email.send(message) if channel == "email" else send_apprise(message)
            except DeliveryFailed as exc:
                raise DeliveryFailed(str(exc), tuple(done)) from None
            done.append(channel)
        return "+".join(done)

    def close(self) -> None:
        self.email.close()
