"""The pages, in Vietnamese: login and account, the cell board, the candidate, the meeting, sponsors, units, admin."""

from fastapi import APIRouter

from web.pages import account, admin, candidates, cells, sponsors, units

router = APIRouter(include_in_schema=False)
for module in (account, cells, candidates, sponsors, units, admin):
    router.include_router(module.router)
