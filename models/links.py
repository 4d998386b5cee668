"""Signed, expiring links that open exactly one note form (one sponsor, one candidate, one meeting).

The token carries only ids and a date; it is signed with KETNAP_SECRET_KEY (itsdangerous) and
refused when altered, when it has expired, or when it names another form than the one asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "ketnap.note-link.v1"


class LinkRefused(ValueError):
    """The link is not valid (altered, expired or not for this form); `reason` says which."""

    def __init__(self, reason: str, message_vi: str):
        self.reason, self.message_vi = reason, message_vi
        super().__init__(reason)


@dataclass(frozen=True)
class NoteSlot:
    member_id: int
    candidate_id: int
    meeting_on: date
    expires_at: datetime


def make_token(secret: str, slot: NoteSlot) -> str:
    payload = [slot.member_id, slot.candidate_id, slot.meeting_on.isoformat(), int(slot.expires_at.timestamp())]
    return URLSafeSerializer(secret, salt=SALT).dumps(payload)


def read_token(secret: str, token: str, *, now: datetime | None = None) -> NoteSlot:
    try:
        member_id, candidate_id, meeting_on, expires = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused("invalid", "Đường dẫn không hợp lệ hoặc đã bị sửa.") from None
    slot = NoteSlot(int(member_id), int(candidate_id), date.fromisoformat(meeting_on),
                    datetime.fromtimestamp(int(expires), tz=UTC))
    if (now or datetime.now(UTC)) > slot.expires_at:
        raise LinkRefused("expired", "Đường dẫn đã hết hạn; đề nghị liên hệ bí thư chi bộ.")
    return slot


def slot_for(member_id: int, candidate_id: int, meeting_on: date, valid_days_after: int = 7) -> NoteSlot:
    """A slot whose link stays valid until `valid_days_after` days after the meeting (end of that day, UTC+7)."""
    end = datetime.combine(meeting_on + timedelta(days=valid_days_after + 1), datetime.min.time(), tzinfo=UTC)
    return NoteSlot(member_id, candidate_id, meeting_on, end - timedelta(hours=7))
