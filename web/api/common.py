"""Shared pieces of the API: the error body in OpenAPI, strict request models, the caller dependency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from web.security import Caller, api_caller

# Row ids are INTEGER columns (int4 in PostgreSQL; SQLite cannot even bind past 2**63): a larger id is a
# 422 on that field, not an overflow in the database driver.
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str
    code: str
    message: str = Field(description="Vietnamese")
    message_en: str


class ErrorDetail(BaseModel):
    code: str = Field(description="machine code, e.g. not_found, forbidden, bad_input, stage_conflict")
    message: str = Field(description="Vietnamese, for people")
    message_en: str
    fields: list[FieldError] = []

    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    error: ErrorDetail


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {400: "bad request", 401: "no or bad token", 403: "this account may not do this",
                 404: "not found, or out of this account's scope", 409: "conflict (someone acted first, …)",
                 410: "link expired", 413: "too large", 422: "invalid input, or a batch refused",
                 429: "too many failed logins"}
    return {c: {"model": ErrorBody, "description": described.get(c, "error")} for c in codes}


# Declares the bearer scheme in OpenAPI (the "Authorize" button of /api/docs); api_caller checks it.
_bearer = HTTPBearer(auto_error=False, description="an API token: `kn_…` (account page or POST /api/v1/auth/token)")


def caller_dep(request: Request, _: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Caller:
    return api_caller(request)


ApiCaller = Annotated[Caller, Depends(caller_dep)]
COMMON = errors(401, 403, 404, 422)
