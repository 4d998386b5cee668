"""Admin actions shared by the admin page and the API, with the checks an admin would expect."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ketnap import context
from models.accounts import ACCOUNT, GRANT
from web.errors import ApiError, bad_field
from web.security import Caller

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def refuse_last_admin(caller: Caller, account_id: int, grant_id: int) -> None:
    """Never remove the last active admin role: nobody could manage accounts any more."""
    with context.engine().connect() as conn:
        role = conn.execute(select(GRANT.c.role).where(GRANT.c.id == grant_id, GRANT.c.account_id == account_id)).scalar()
        if role != "admin":
            return
        admins = conn.execute(select(func.count()).select_from(GRANT.join(ACCOUNT, ACCOUNT.c.id == GRANT.c.account_id))
                              .where(GRANT.c.role == "admin", ACCOUNT.c.active.is_(True))).scalar_one()
    if admins <= 1:
        raise ApiError(409, "last_admin", "Không thể bỏ vai trò quản trị của tài khoản quản trị cuối cùng.",
                       "this is the last active admin grant")


def refuse_self(caller: Caller, account_id: int) -> None:
    if caller.principal.account_id == account_id:
        raise ApiError(409, "own_account", "Không thể tự khóa tài khoản của mình.", "an admin cannot disable itself")


def import_organisation(caller: Caller, filename: str, content: bytes) -> dict[str, Any]:
    """Import an uploaded YAML or CSV organisation file: all or nothing, every bad row with its line."""
    from models.imports.organisation import import_organisation as run_import

    suffix = Path(filename).suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise bad_field("file", "unknown_format", "Tệp phải là .yaml, .yml hoặc .csv.", "the file must be YAML or CSV")
    if len(content) > MAX_IMPORT_BYTES:
        raise bad_field("file", "too_large", "Tệp không quá 5 MB.", "at most 5 MB")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_field("file", "not_utf8", "Tệp phải mã hóa UTF-8.", "the file must be UTF-8 text") from None
    safe_name = "".join(ch for ch in Path(filename).name if ch.isalnum() or ch in "._-")[:80] or f"import{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_name
        if path.suffix.lower() != suffix:
            path = path.with_suffix(suffix)
        path.write_bytes(content)
        summary = run_import(context.engine(), path, caller.principal.actor("admin"), now=context.now())
    data = summary.as_dict()
    return data | {"units": data["units_created"] + data["units_updated"],
                   "members": data["members_created"] + data["members_updated"]}


def import_files_in_progress(caller: Caller, filename: str, content: bytes, *, authority: str, mode: str,
                             dry_run: bool) -> Any:
    """Files already in progress on paper, from an uploaded XLSX or CSV: all or nothing (models/imports/files_in_progress.py)."""
    from models.imports.files_in_progress import MODES, import_files

    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise bad_field("file", "unknown_format", "Tệp phải là .xlsx hoặc .csv (dùng mẫu tải về).",
                        "the file must be XLSX or CSV")
    if len(content) > MAX_IMPORT_BYTES:
        raise bad_field("file", "too_large", "Tệp không quá 5 MB.", "at most 5 MB")
    if mode not in MODES:
        raise bad_field("mode", "invalid", "Chọn cách xử lý dòng sai quy định.", f"mode must be one of {MODES}")
    if not authority.strip():
        raise bad_field("authority", "required", "Cần ghi căn cứ nhập hồ sơ (văn bản, người cho phép).", "authority is required")
    safe_name = "".join(ch for ch in Path(filename).name if ch.isalnum() or ch in "._-")[:80] or f"import{suffix}"
    return import_files(context.engine(), content, safe_name, caller.principal.actor("admin"), authority=authority,
                        mode=mode, dry_run=dry_run, now=context.now())
