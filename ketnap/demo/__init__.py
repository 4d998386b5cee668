"""Demo data a visitor can click through: one commune of Sơn La, its members, eight candidates.

Each candidate is added and then walked through its steps with the real transition function,
so the history, deadlines and audit chain are exactly what a secretary would have produced.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, func, select

from models.actors import Actor
from models.calendar.periods import add_months
from models.dossier.store import render_step
from models.imports.candidates import CandidateIn, add_candidates
from models.imports.organisation import import_organisation
from models.tables import Candidate
from models.transitions import TransitionRequest, apply_transition, local_today

RELATIVE = re.compile(r"^today-(\d+)y(\d+)m$")


def _resolve(value: Any, today: date) -> Any:
    if isinstance(value, str) and (m := RELATIVE.match(value)):
        return add_months(today, -(int(m.group(1)) * 12 + int(m.group(2))))
    return value


def load_demo(engine: Engine, actor: Actor, *, now: datetime | None = None) -> dict[str, Any]:
    """Import the demo organisation and candidates; candidates are skipped if any exist already."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    files = resources.files("ketnap.demo")
    with resources.as_file(files / "organisation.yaml") as org_path:
        org = import_organisation(engine, Path(org_path), actor, now=now)
    accounts = load_demo_accounts(engine, actor, now=now)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Candidate.__table__)).scalar_one():
            return {"organisation": org.as_dict(), "candidates": [], "accounts": accounts,
                    "skipped": "candidates already present"}
    data = yaml.safe_load((files / "candidates.yaml").read_text(encoding="utf-8"))
    added = []
    for item in data["candidates"]:
        steps = item.pop("steps", [])
        item = {k: _resolve(v, today) for k, v in item.items()}
        (candidate_id,) = add_candidates(engine, [(0, CandidateIn.model_validate(item))], actor, now=now, source="demo")
        for i, step in enumerate(steps):
            result = apply_transition(engine, TransitionRequest(
                candidate_id=candidate_id, event=step["event"], on=step["date"], actor=actor,
                inputs=step.get("set", {}), idempotency_key=f"demo:{candidate_id}:{i}",
            ), now=now)
            if not result.applied:
                reasons = "; ".join(f.message for f in result.failures)
                raise RuntimeError(f"demo step {step['event']} of {item['full_name']} was refused: {reasons}")
            if result.forms:                      # the forms each step produced, as the flow renders them
                render_step(engine, candidate_id, result.audit_event_id, result.forms, now=now)
        added.append({"id": candidate_id, "full_name": item["full_name"], "stage": result.stage_after if steps else "source"})
    from models.targets import set_target

    for unit_id, kind, start, end, count in DEMO_TARGETS(today.year):   # for the statistics page
        set_target(engine, unit_id, kind, start, end, count, actor, now=now)
    return {"organisation": org.as_dict(), "candidates": added, "accounts": accounts}


def DEMO_TARGETS(year: int) -> list[tuple[str, str, int, int | None, int]]:  # noqa: N802 - a table, by the year
    """Admission targets of the demo commune and its committees: this year's and the 2025–2030 term's."""
    return [("xa-muong-bu", "year", year, None, 4), ("xa-muong-bu", "term", 2025, 2030, 20),
            ("thpt-muong-bu", "year", year, None, 1), ("cty-che-muong-bu", "year", year, None, 1)]


def demo_accounts() -> tuple[str, list[dict[str, Any]]]:
    """(the shared demo password, the demo accounts) as listed in accounts.yaml."""
    data = yaml.safe_load((resources.files("ketnap.demo") / "accounts.yaml").read_text(encoding="utf-8"))
    return data["password"], data["accounts"]


def load_demo_accounts(engine: Engine, actor: Actor, *, now: datetime | None = None) -> list[str]:
    """Create the demo accounts that do not exist yet (never in production); returns the usernames created."""
    from ketnap.settings import get_settings
    from models.access import Grant
    from models.accounts import ACCOUNT, NewAccount, create_account

    if get_settings().environment == "production":
        return []
    password, items = demo_accounts()
    created = []
    for item in items:
        with engine.connect() as conn:
            if conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == item["username"])).first():
                continue
        grants = tuple(Grant(g["role"], g.get("unit")) for g in item["grants"])
        create_account(engine, NewAccount(item["username"], item["display_name"], password, grants,
                                          item.get("member")), actor, now=now)
        created.append(item["username"])
    return created
