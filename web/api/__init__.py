"""The JSON API (/api/v1): every action the pages offer, with bearer tokens and the same rules."""

from fastapi import APIRouter

from web.api import admin, auth, calendar, candidates, cells, compliance, notes, statistics

router = APIRouter(prefix="/api/v1")
for module in (auth, cells, candidates, notes, compliance, statistics, calendar, admin):
    router.include_router(module.router)
