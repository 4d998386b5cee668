"""One error type for pages and API: an HTTP status, a machine code (English), a Vietnamese message.

The domain raises its own exceptions; `from_domain` turns each into an `ApiError` so that a
page shows the Vietnamese sentence next to the field, and the API returns
`{"error": {"code", "message", "message_en", "fields": [{"field", "code", "message", "message_en"}]}}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldProblem:
    field: str
    code: str
    message: str          # Vietnamese
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message, "message_en": self.message_en}


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str                      # Vietnamese, for people
    message_en: str                   # English, for logs and clients
    fields: list[FieldProblem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "message_en": self.message_en,
                          "fields": [f.as_dict() for f in self.fields], **self.extra}}


def not_found(what: str = "candidate") -> ApiError:
    return ApiError(404, "not_found", "Không tìm thấy (hoặc đồng chí không có quyền xem).",
                    f"no such {what}, or not one this account may see")


def forbidden(message: str = "Đồng chí không có quyền làm việc này.", en: str = "this account may not do this") -> ApiError:
    return ApiError(403, "forbidden", message, en)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "Cần đăng nhập.", "log in, or send 'Authorization: Bearer <token>'",
                    headers={"WWW-Authenticate": "Bearer"})


def bad_field(name: str, code: str, message: str, message_en: str) -> ApiError:
    return ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid",
                    [FieldProblem(name, code, message, message_en)])


def domain_exceptions() -> tuple[type[Exception], ...]:
    """The exceptions the domain raises on purpose (each mapped by `from_domain`)."""
    from models.accounts import AccountError, LoginRefused
    from models.calendar_corrections import CorrectionRejected
    from models.imports.rows import ImportRejected
    from models.links import LinkRefused
    from models.procedure.engine import InputError, StageConflict
    from models.scope import OutOfScope
    from models.transitions import CandidateNotFound, IdempotencyKeyReused, VersionConflict

    return (InputError, AccountError, LoginRefused, CandidateNotFound, OutOfScope, StageConflict, VersionConflict,
            IdempotencyKeyReused, LinkRefused, ImportRejected, CorrectionRejected)


def from_domain(exc: Exception) -> ApiError | None:
    """The ApiError for a domain exception, or None if it is not one the domain raises on purpose."""
    from models.accounts import AccountError, LoginRefused
    from models.calendar_corrections import CorrectionRejected
    from models.imports.rows import ImportRejected
    from models.links import LinkRefused
    from models.procedure.engine import InputError, StageConflict
    from models.scope import OutOfScope
    from models.transitions import CandidateNotFound, IdempotencyKeyReused, VersionConflict

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InputError):
        return ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid",
                        [FieldProblem(p.field, p.code, p.message_vi, p.message) for p in exc.problems])
    if isinstance(exc, AccountError):
        return ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid",
                        [FieldProblem(exc.field, exc.code, exc.message_vi, exc.message)])
    if isinstance(exc, LoginRefused):
        status = 429 if exc.code == "login_rate_limited" else 401
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return ApiError(status, exc.code, exc.message_vi, exc.code.replace("_", " "), headers=headers)
    if isinstance(exc, CandidateNotFound | OutOfScope):
        return not_found()
    if isinstance(exc, StageConflict):
        return ApiError(409, "stage_conflict",
                        "Bước này không còn áp dụng cho giai đoạn hiện tại của hồ sơ (có thể ai đó vừa ghi trước).",
                        str(exc), extra={"stage": exc.stage, "allowed_from": list(exc.allowed_from)})
    if isinstance(exc, VersionConflict):
        return ApiError(409, "version_conflict",
                        "Hồ sơ vừa được người khác cập nhật. Vui lòng tải lại trang và kiểm tra trước khi ghi.",
                        str(exc), extra={"expected": exc.expected, "actual": exc.actual})
    if isinstance(exc, IdempotencyKeyReused):
        return ApiError(409, "idempotency_key_reused", "Mã yêu cầu này đã dùng cho một yêu cầu khác.", str(exc))
    if isinstance(exc, LinkRefused):
        return ApiError(410 if exc.reason == "expired" else 404, f"link_{exc.reason}", exc.message_vi,
                        f"the link is not valid ({exc.reason})")
    if isinstance(exc, CorrectionRejected):
        return ApiError(422, "correction_rejected", "Điều chỉnh lịch chưa đúng; chưa thay đổi gì.",
                        "the calendar correction is not valid; nothing was changed",
                        [FieldProblem(p.field, "invalid", p.message_vi, p.message) for p in exc.problems])
    if isinstance(exc, ImportRejected):
        return ApiError(422, "import_rejected", f"Tệp có {len(exc.errors)} lỗi; chưa nhập gì.",
                        f"{exc.source}: {len(exc.errors)} problem(s); nothing was imported",
                        [FieldProblem(f"line {e.line}: {e.field}", getattr(e, "rule_id", "") or "invalid",
                                      f"Dòng {e.line}, “{e.field}”: {e.rule}"
                                      + (f" ({e.cite})" if getattr(e, "cite", "") else ""),
                                      f"line {e.line}: {e.field}: {e.rule}") for e in exc.errors])
    return None
