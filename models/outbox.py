"""The durable outbox: notifications created once, delivered with retries, every delivery audited.

- `enqueue` inserts rows and ignores those already there: one per (recipient, reason, period),
  however often a sweep runs.
- `deliver` claims due rows one by one (a claimed row is `sending`, so two deliverers never send
  the same message), renders the Vietnamese message, hands it to the transport, and records the
  outcome: sent, or pending again after a backoff (1, 5, 15, 60 minutes, then 4 hours), or dead
  after 10 attempts. Nothing is sent at night in Asia/Ho_Chi_Minh unless allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from models.actors import SYSTEM
from models.audit.trail import append_to_chain
from models.casefile import append_for_candidate_locked
from models.messages import build_message
from models.tables import Notification, Recipient
from models.transports import DeliveryFailed, Transport

NOTIFICATION = Notification.__table__
RECIPIENT = Recipient.__table__
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=10)
# A claim is a lease: a row left `sending` by a crashed deliverer is due again when it expires
# (at-least-once: the crash may have come after the server accepted the message).
CLAIM = (NOTIFICATION.update()
         .where(NOTIFICATION.c.id == bindparam("b_id"), NOTIFICATION.c.status.in_(["pending", "sending"]),
                NOTIFICATION.c.next_attempt_at <= bindparam("b_now"))
         .values(status="sending", next_attempt_at=bindparam("lease_until")))


def enqueue(engine: Engine, rows: Iterable[dict[str, Any]], *, now: datetime) -> int:
    """Insert notifications, skipping any (recipient, reason, period) already queued; returns how many are new."""
    rows = [r | {"status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": r.get("next_attempt_at", now)}
            for r in rows]
    if not rows:
        return 0
    dialect = engine.dialect.name
    insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(NOTIFICATION)
    statement = (insert.on_conflict_do_nothing(index_elements=["recipient_id", "reason", "period_key"])
                 .returning(NOTIFICATION.c.id))        # only rows actually inserted come back
    created = 0
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            created += len(conn.execute(statement, rows[start:start + 5000]).all())
    return created


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred_for_night: bool = False

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def is_night(now: datetime, quiet: tuple[time, time]) -> bool:
    local = now.astimezone(LOCAL).time()
    start, end = quiet
    return local >= start or local < end if start > end else start <= local < end


def deliver(engine: Engine, transport: Transport, *, now: datetime | None = None, limit: int = 1000,
            quiet: tuple[time, time] = (time(21, 0), time(7, 0)), at_night: bool = False,
            public_url: str = "http://127.0.0.1:8000", secret: str = "", sender: str = "ketnap <ketnap@localhost>") -> Delivery:
    now = now or datetime.now(UTC)
    report = Delivery()
    if not at_night and is_night(now, quiet):
        report.deferred_for_night = True
        return report
    with engine.connect() as conn:
        due = conn.execute(select(NOTIFICATION.c.id).where(NOTIFICATION.c.status.in_(["pending", "sending"]),
                                                           NOTIFICATION.c.next_attempt_at <= now)
                           .order_by(NOTIFICATION.c.next_attempt_at, NOTIFICATION.c.id).limit(limit)).scalars().all()
    try:
        for notification_id in due:
            with engine.begin() as conn:
                claimed = conn.execute(CLAIM, {"b_id": notification_id, "b_now": now, "lease_until": now + LEASE})
                if claimed.rowcount != 1:
                    continue                                  # another deliverer has it
                row = conn.execute(select(NOTIFICATION).where(NOTIFICATION.c.id == notification_id)).mappings().one()
            try:
                with engine.connect() as conn:
                    recipient = conn.execute(select(RECIPIENT).where(RECIPIENT.c.id == row["recipient_id"])
                                             ).mappings().one()
                    message = build_message(conn, row, recipient, public_url=public_url, secret=secret, sender=sender)
                message = replace(message, done=tuple(row["channel_used"].split("+")) if row["channel_used"] else (),
                                  sent_at=now)
                channel = transport.send(message)
            except DeliveryFailed as exc:
                _failed(engine, row, str(exc), now, report, done=exc.done)
                continue
            except Exception as exc:  # noqa: BLE001 - a message that cannot be built must not block the others
                _failed(engine, row, f"{type(exc).__name__}: {exc}", now, report)
                continue
            _sent(engine, row, channel, now)
            report.sent += 1
    finally:
        transport.close()
    return report


def _sent(engine: Engine, row: Any, channel: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(NOTIFICATION.update().where(NOTIFICATION.c.id == row["id"]).values(
            status="sent", sent_at=now, channel_used=channel, attempts=row["attempts"] + 1, last_error=None))
    _audit(engine, row, "notification_sent", {"channel": channel}, now)


def _failed(engine: Engine, row: Any, error: str, now: datetime, report: Delivery, done: tuple[str, ...] = ()) -> None:
    attempts = row["attempts"] + 1
    dead = attempts >= MAX_ATTEMPTS
    delay = BACKOFF_MINUTES[min(attempts - 1, len(BACKOFF_MINUTES) - 1)]
    with engine.begin() as conn:
        conn.execute(NOTIFICATION.update().where(NOTIFICATION.c.id == row["id"]).values(
            status="dead" if dead else "pending", attempts=attempts, last_error=error[:1000],
            channel_used="+".join(done) or row["channel_used"], next_attempt_at=now + timedelta(minutes=delay)))
    if dead:
        report.dead += 1
        _audit(engine, row, "notification_dead", {"attempts": attempts, "error": error[:200]}, now)
    else:
        report.retried += 1


def _audit(engine: Engine, row: Any, kind: str, extra: dict[str, Any], now: datetime) -> None:
    payload = {"notification_id": row["id"], "reason": row["reason"], "period": row["period_key"],
               "recipient_id": row["recipient_id"], **extra}
    if row["candidate_id"] is not None:
        append_for_candidate_locked(engine, row["candidate_id"], kind=kind, actor=SYSTEM, payload=payload, now=now)
    else:
        with engine.begin() as conn:
            append_to_chain(conn, "outbox", kind=kind, actor=SYSTEM, payload=payload, now=now,
                            effective_on=now.astimezone(LOCAL).date())


def listing(engine: Engine, *, status: str | None = None, candidate_id: int | None = None,
            limit: int = 200) -> list[dict[str, Any]]:
    query = (select(NOTIFICATION.c.id, NOTIFICATION.c.reason, NOTIFICATION.c.period_key, NOTIFICATION.c.status,
                    NOTIFICATION.c.attempts, NOTIFICATION.c.next_attempt_at, NOTIFICATION.c.sent_at,
                    NOTIFICATION.c.channel_used, NOTIFICATION.c.candidate_id, NOTIFICATION.c.last_error,
                    RECIPIENT.c.name.label("recipient"), RECIPIENT.c.key.label("recipient_key"))
             .select_from(NOTIFICATION.join(RECIPIENT, RECIPIENT.c.id == NOTIFICATION.c.recipient_id))
             .order_by(NOTIFICATION.c.id.desc()).limit(limit))
    if status:
        query = query.where(NOTIFICATION.c.status == status)
    if candidate_id is not None:
        query = query.where(NOTIFICATION.c.candidate_id == candidate_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
