"""The pages, in Vietnamese: login and account, the cell board, the candidate, the meeting, sponsors, units, admin."""

from fastapi import APIRouter

from web.pages import (
    account,
    admin,
    calendar_admin,
    candidates,
    cells,
    compliance,
    history,
    imports,
    register,
    rulesets_admin,
    sponsors,
    statistics,
    units,
)

router = APIRouter(include_in_schema=False)
for module in (account, cells, candidates, history, sponsors, units, compliance, statistics, register, calendar_admin,
               imports, rulesets_admin, admin):
    router.include_router(module.router)
