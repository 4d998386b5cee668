"""Fuzzing the JSON API from its OpenAPI schema (schemathesis): no input, from any caller, is a server error.

Every operation of /api/openapi.json (paths × methods, none skipped) is fuzzed in-process through the
ASGI app as five callers: the administrator, the secretary of cb-ban-na-la, the committee office, a
sponsor, and no token at all. Each operation gets schema-conforming (positive) and schema-violating
(negative) requests. Half of the time a request is steered towards the demo's real data: path
parameters become real ids (candidates, cells, units, accounts, a signed note link), and the bodies
that drive the domain get real events with their inputs, meeting dates, member codes, usernames and
roles; so the fuzzer gets past "not found" and "unknown event" into the procedure's rules. Checked on
every response:

- no 5xx, and no exception escaping the app (Starlette's ServerErrorMiddleware answers 500 and then
  re-raises, so the ASGI transport raises it here: reported with the ketnap frames and a curl);
- nothing logged by ketnap.web at ERROR (the catch-all logs "unhandled error" there);
- every 4xx under /api/ has the documented body `{"error": {"code", "message", "message_en", "fields"}}`.

Deterministic (derandomized Hypothesis, no example database). Each (operation, caller) test runs on its
own copy of the demo database, so what one example changes (an account disabled, a step recorded, a
token revoked) carries to the later examples of that test only. Rate limits (429 on POST /auth/token)
are expected answers, not errors.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine, select

from tests.web.conftest import (
    ADMIN_USER,
    COMMITTEE,
    DEMO_PASSWORD,
    SECRETARY_NA_LA,
    SPONSOR_NL02,
    WEB_NOW,
    token_for,
)
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 15                    # per operation, caller and generation mode
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CALLERS: dict[str, str | None] = {"admin": ADMIN_USER, "secretary": SECRETARY_NA_LA, "committee": COMMITTEE,
                                  "sponsor": SPONSOR_NL02, "anonymous": None}
# Operations with no input schemathesis can make invalid (no body, no query, only a free-form string in
# the path, no bearer token to drop): positive requests only; a negative run must find nothing to negate.
NOTHING_TO_NEGATE = {"GET /healthz", "GET /api/v1/notes/{token}"}

APP = create_app()
SCHEMA = schemathesis.openapi.from_asgi("/api/openapi.json", APP)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


def schema_operations() -> set[str]:
    """Every path × method the published schema declares."""
    return {f"{method.upper()} {path}" for path, item in SCHEMA.raw_schema["paths"].items()
            for method in item if method in HTTP_METHODS}


def test_every_operation_of_the_schema_is_fuzzed() -> None:
    declared = schema_operations()
    assert len(OPERATIONS) == len(declared), "schemathesis did not load every operation"
    assert set(OPERATIONS) == declared
    assert NOTHING_TO_NEGATE.issubset(declared)
    assert sum(label.startswith("/api/v1/", label.index(" ") + 1) for label in OPERATIONS) >= 25


# --- the demo's real values, so that the fuzzer gets past "not found" ---------------------------------------


@dataclass
class Known:
    path: dict[str, list[Any]]          # path parameter → real values
    events: dict[str, dict[str, str]]   # event id → its inputs' names and types (both rule sets)
    dates: list[str]
    meetings: list[str]
    candidates: list[int]
    member_codes: list[str]
    usernames: list[str]
    units: list[str]


def known_values(engine: Engine) -> Known:
    from ketnap.settings import secret_key
    from models.accounts import ACCOUNT
    from models.links import make_token, slot_for
    from models.procedure.loader import get_ruleset
    from models.snapshot import CANDIDATE
    from models.tables import Member
    from web.services import note_meetings

    member = Member.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        candidates = list(conn.execute(select(CANDIDATE.c.id).order_by(CANDIDATE.c.id)).scalars())
        versions = set(conn.execute(select(CANDIDATE.c.ruleset_version)).scalars())
        accounts = list(conn.execute(select(ACCOUNT.c.id).order_by(ACCOUNT.c.id)).scalars())
        usernames = list(conn.execute(select(ACCOUNT.c.username).order_by(ACCOUNT.c.id)).scalars())
        sponsor = conn.execute(select(ACCOUNT.c.member_id).where(ACCOUNT.c.username == SPONSOR_NL02)).scalar_one()
        codes = list(conn.execute(select(member.c.code).order_by(member.c.id).limit(6)).scalars())
    events: dict[str, dict[str, str]] = {}
    for version in sorted(versions):
        for event in get_ruleset(version).events:
            events.setdefault(event.id, {}).update({name: spec.type for name, spec in event.inputs.items()})
    cells = ["cb-ban-na-la", "cb-ban-pa-cong", "cb-doi-che-1"]
    meetings = note_meetings("cb-ban-na-la")
    links = [make_token(secret_key(), slot_for(sponsor, 2, m)) for m in meetings[:2]]
    links.append(make_token(secret_key(), slot_for(sponsor, 2, date(2025, 1, 6))))          # expired
    links.append(make_token(secret_key(), slot_for(sponsor, 1, meetings[0])))               # not its candidate
    today = WEB_NOW.date()
    dates = [today, today - timedelta(days=3), today + timedelta(days=10), date(2020, 2, 29), date(1, 1, 1),
             date(9999, 12, 31)]
    return Known(
        path={"candidate_id": [2, 2, *candidates], "cell_id": cells, "unit_id": ["xa-muong-bu", "thpt-muong-bu", *cells],
              "account_id": accounts, "grant_id": list(range(1, 9)), "token_id": [1, 2, 3], "document_id": [1, 2],
              "token": links},
        events=events, dates=[d.isoformat() for d in dates], meetings=[m.isoformat() for m in meetings],
        candidates=[2, 2, *candidates], member_codes=codes, usernames=usernames,
        units=["xa-muong-bu", "son-la", *cells, "no-such-unit"],
    )


# --- steering: a generated request, half of the time given real values ---------------------------------------

Draw = Callable[[st.SearchStrategy[Any]], Any]


def input_value(kind: str, known: Known) -> st.SearchStrategy[Any]:
    """A value for one of an event's inputs: often right for its type, often not."""
    odd = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
                    st.text(alphabet="0123456789²٣", min_size=1, max_size=25),
                    st.sampled_from(["", " ", "true", "có", "-1", "1e3", "2026-02-30", "99999999999999999999"]))
    right = {"int": st.integers(min_value=-2, max_value=40), "date": st.sampled_from(known.dates),
             "bool": st.booleans(), "member": st.sampled_from(known.member_codes), "text": st.text(min_size=1, max_size=30)}
    return st.one_of(right.get(kind, odd), odd)


def inputs_for(event: str, known: Known) -> st.SearchStrategy[dict[str, Any]]:
    names = known.events.get(event, {})
    return st.dictionaries(st.sampled_from(sorted(names) or ["x"]), st.just(None), max_size=len(names) or 1).flatmap(
        lambda chosen: st.fixed_dictionaries({name: input_value(names.get(name, "text"), known) for name in chosen}))


def steer(label: str, case: schemathesis.Case, draw: Draw, known: Known) -> None:
    """Replace some generated values with the demo's (each choice drawn, so it shrinks and replays)."""
    for name in case.path_parameters:
        if known.path.get(name) and draw(st.booleans()):
            case.path_parameters[name] = draw(st.sampled_from(known.path[name]))
    body = case.body
    if not isinstance(body, dict) or not draw(st.booleans()):
        return
    event_id = st.sampled_from(sorted(known.events))
    if label.endswith("/transitions"):
        body["event"] = draw(event_id)
        body["on"] = draw(st.sampled_from(known.dates))
        body["inputs"] = draw(inputs_for(body["event"], known))
    elif label.endswith("/meeting-results"):
        body["on"] = draw(st.sampled_from(known.meetings + known.dates))
        body["results"] = draw(st.lists(event_id.flatmap(lambda e: st.fixed_dictionaries({
            "candidate_id": st.sampled_from(known.candidates), "event": st.just(e), "inputs": inputs_for(e, known),
            "expected_version": st.one_of(st.none(), st.integers(min_value=1, max_value=5))})), min_size=1, max_size=3))
    elif label.endswith("/{candidate_id}/notes"):
        body["meeting_on"] = draw(st.sampled_from(known.meetings + known.dates))
        body["member_code"] = draw(st.one_of(st.none(), st.sampled_from(known.member_codes)))
    elif label == "POST /api/v1/auth/token":
        body["username"] = draw(st.sampled_from(known.usernames))
        body["password"] = draw(st.sampled_from([DEMO_PASSWORD, "wrong-password", ""]))
    elif label == "POST /api/v1/me/password":
        body["current_password"] = DEMO_PASSWORD
    elif label == "POST /api/v1/admin/accounts":
        body["grants"] = draw(st.lists(st.fixed_dictionaries({
            "role": st.sampled_from(["admin", "secretary", "committee", "organisation_department", "sponsor", "x"]),
            "unit_id": st.one_of(st.none(), st.sampled_from(known.units))}), max_size=3))
        body["member_code"] = draw(st.one_of(st.none(), st.sampled_from(known.member_codes)))
    elif label == "POST /api/v1/admin/accounts/{account_id}/grants":
        body["role"] = draw(st.sampled_from(["admin", "secretary", "committee", "sponsor", "organisation_department"]))
        body["unit_id"] = draw(st.one_of(st.none(), st.sampled_from(known.units)))


# --- the fuzzing ------------------------------------------------------------------------------------------


def reproduce(case: schemathesis.Case, headers: dict[str, str]) -> str:
    try:
        return case.as_curl_command(headers=headers)
    except Exception:  # noqa: BLE001 - only a hint for the report
        return repr(case)


def project_frames(exc: BaseException) -> str:
    """Where in ketnap the exception was raised (the frames of web/, models/, …; not the ASGI stack's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(str(ROOT)) and not f.filename.startswith(str(ROOT / "tests"))]
    return "".join(traceback.format_list(frames[-8:]))


def check_error_body(case: schemathesis.Case, response: schemathesis.Response, where: str) -> None:
    if not 400 <= response.status_code < 500 or not case.operation.path.startswith("/api/"):
        return
    where = f"{where}: answered {response.status_code} {response.text[:1000]}"
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), where
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], where
    assert isinstance(error.get("message"), str) and error["message"], where
    assert isinstance(error.get("message_en"), str), where
    assert isinstance(error.get("fields", []), list), where


def fuzz(label: str, mode: GenerationMode, caller: str, headers: dict[str, str], known: Known,
         log: pytest.LogCaptureFixture) -> int:
    """Send up to MAX_EXAMPLES generated requests to one operation; how many were sent."""
    operation = OPERATIONS[label]
    sent = 0

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def one(case: schemathesis.Case, data: st.DataObject) -> None:
        nonlocal sent
        steer(label, case, data.draw, known)
        sent += 1
        log.clear()
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # noqa: BLE001 - an exception out of the app is a server error
            pytest.fail(f"{label} as {caller} ({mode}): the app raised {type(exc).__name__}: {exc}\n"
                        f"{reproduce(case, headers)}\n{project_frames(exc)}", pytrace=False)
        where = f"{label} as {caller} ({mode})\n{reproduce(case, headers)}\n"
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
        check_error_body(case, response, where)
        logged = [r.getMessage() for r in log.records if r.name.startswith("ketnap.web") and r.levelno >= logging.ERROR]
        assert not logged, f"{where}: logged {logged[0]}"

    one()
    return sent


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """New passwords (accounts created, passwords reset) hashed by Argon2 at its cheapest: the fuzzer sets
    hundreds. A stored hash carries its own parameters, so the demo's passwords still verify."""
    from argon2 import PasswordHasher

    from models import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def web_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.ERROR, logger="ketnap.web")
    yield caplog


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzz_operation(label: str, caller: str, demo: Engine, cheap_hashing: None,
                        web_log: pytest.LogCaptureFixture) -> None:
    username = CALLERS[caller]
    headers = {"Authorization": f"Bearer {token_for(demo, username)}"} if username else {}
    known = known_values(demo)
    assert fuzz(label, GenerationMode.POSITIVE, caller, headers, known, web_log) > 0
    if label in NOTHING_TO_NEGATE:
        with pytest.raises(Unsatisfiable):      # if not, the operation gained an input: fuzz it negatively
            fuzz(label, GenerationMode.NEGATIVE, caller, headers, known, web_log)
    else:
        assert fuzz(label, GenerationMode.NEGATIVE, caller, headers, known, web_log) > 0
