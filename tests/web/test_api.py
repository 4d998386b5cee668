"""The JSON API: tokens, the same rules and refusals as the pages, idempotency, concurrency on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from models.tables import AuditEvent, Candidate
from tests.web.conftest import DEMO_PASSWORD, SECRETARY_NA_LA, SPONSOR_NL02, bearer, token_for

AUDIT = AuditEvent.__table__
CANDIDATE = Candidate.__table__
DUNG = 2
VOTE = {"event": "cell_approves", "on": "2026-11-05", "inputs": {"approve": 3, "excused_absent": 1}}


def transitions(engine: Engine, candidate_id: int) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == candidate_id,
                                                         AUDIT.c.kind == "transition")).all())


def test_a_token_from_username_and_password_then_me(client: TestClient) -> None:
    issued = client.post("/api/v1/auth/token", json={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD, "name": "app"})
    assert issued.status_code == 201 and issued.json()["token"].startswith("kn_")
    me = client.get("/api/v1/me", headers=bearer(issued.json()["token"])).json()
    assert me["username"] == SECRETARY_NA_LA and me["grants"][0] | {"id": 0} == {"id": 0, "role": "secretary",
                                                                                  "unit_id": "cb-ban-na-la"}
    wrong = client.post("/api/v1/auth/token", json={"username": SECRETARY_NA_LA, "password": "sai-mat-khau"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "login_failed"
    assert "không đúng" in wrong.json()["error"]["message"]


def test_token_guessing_is_rate_limited(client: TestClient) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": SECRETARY_NA_LA, "password": "doan-mo-1234"})
    limited = client.post("/api/v1/auth/token", json={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "login_rate_limited"
    assert int(limited.headers["retry-after"]) > 0


def test_bad_tokens_are_refused_with_the_bearer_challenge(client: TestClient) -> None:
    for header in ({}, {"Authorization": "Bearer kn_not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = client.get("/api/v1/me", headers=header)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] in ("unauthenticated", "invalid_token")


def test_a_dry_run_records_nothing_a_refusal_explains_and_the_step_applies_once(client: TestClient, demo: Engine) -> None:
    headers = bearer(token_for(demo, SECRETARY_NA_LA))
    url = f"/api/v1/candidates/{DUNG}/transitions"
    dry = client.post(url, json=VOTE | {"dry_run": True}, headers=headers)
    assert dry.status_code == 200 and dry.json()["status"] == "would_apply" and transitions(demo, DUNG) == 4
    refused = client.post(url, json=VOTE | {"inputs": {"approve": 2}, "idempotency_key": "vote-try-1"}, headers=headers)
    body = refused.json()
    assert refused.status_code == 422 and body["status"] == "refused"
    assert body["failures"][0]["code"] and "hai phần ba" in body["failures"][0]["message"] and body["failures"][0]["cite"]
    applied = client.post(url, json=VOTE | {"idempotency_key": "vote-try-2"}, headers=headers)
    assert applied.status_code == 201 and applied.json()["stage_after"] == "grassroots_review"
    assert applied.json()["forms"] == ["6-KNĐ"]
    replay = client.post(url, json=VOTE | {"idempotency_key": "vote-try-2"}, headers=headers)
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["audit_event_id"] == applied.json()["audit_event_id"] and transitions(demo, DUNG) == 5
    reused = client.post(url, json=VOTE | {"inputs": {"approve": 4}, "idempotency_key": "vote-try-2"}, headers=headers)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    late = client.post(url, json=VOTE, headers=headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "stage_conflict"


@pytest.mark.parametrize(("body", "field", "code"), [
    (VOTE | {"event": "no_such_step"}, "event", "unknown_event"),
    (VOTE | {"on": "2026-13-40"}, "on", "date_from_datetime_parsing"),
    (VOTE | {"on": "2027-01-01"}, "on", "in_future"),
    (VOTE | {"on": "2026-06-01"}, "on", "before_previous_step"),
    (VOTE | {"inputs": {"approve": "ba"}}, "approve", "invalid"),
    (VOTE | {"inputs": {"approve": 3, "colour": "red"}}, "colour", "unknown_field"),
    (VOTE | {"inputs": {}}, "approve", "required"),
    (VOTE | {"extra": 1}, "extra", "extra_forbidden"),
])
def test_bad_requests_name_the_field_and_the_rule_and_write_nothing(client: TestClient, demo: Engine, body: dict[str, Any],
                                                                    field: str, code: str) -> None:
    response = client.post(f"/api/v1/candidates/{DUNG}/transitions", json=body,
                           headers=bearer(token_for(demo, SECRETARY_NA_LA)))
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["fields"]
    assert any(p["field"] == field and p["code"] == code and p["message"] and p["message_en"] for p in problems), problems
    assert transitions(demo, DUNG) == 4


def test_a_stale_version_is_a_conflict(client: TestClient, demo: Engine) -> None:
    response = client.post(f"/api/v1/candidates/{DUNG}/transitions", json=VOTE | {"expected_version": 1},
                           headers=bearer(token_for(demo, SECRETARY_NA_LA)))
    assert response.status_code == 409 and response.json()["error"]["code"] == "version_conflict"
    assert response.json()["error"]["actual"] > 1


def test_actions_say_who_records_each_step_and_what_already_blocks_it(client: TestClient, demo: Engine) -> None:
    actions = client.get("/api/v1/candidates/3/actions", headers=bearer(token_for(demo, "bithu.huoihao"))).json()
    vote = next(a for a in actions if a["event"] == "cell_approves")
    assert vote["allowed"] and vote["role"] == "secretary"
    assert any(b["rule"] == "age_in_range" for b in vote["blocked_by"])
    assert {i["name"] for i in vote["inputs"]} == {"approve", "full_members", "excused_absent"}
    as_committee = client.get("/api/v1/candidates/3/actions", headers=bearer(token_for(demo, "vanphong"))).json()
    assert not next(a for a in as_committee if a["event"] == "cell_approves")["allowed"]


def test_a_meeting_batch_is_all_or_nothing_over_the_api(client: TestClient, demo: Engine) -> None:
    headers = bearer(token_for(demo, SECRETARY_NA_LA))
    url = "/api/v1/cells/cb-ban-na-la/meeting-results"
    refused = client.post(url, headers=headers, json={"on": "2026-11-05", "idempotency_key": "batch-2026-11", "results": [
        {"candidate_id": DUNG, "event": "cell_approves", "inputs": {"approve": 2}}]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "batch_refused"
    assert refused.json()["error"]["results"][0]["status"] == "would_refuse" and transitions(demo, DUNG) == 4
    other_cell = client.post(url, headers=headers, json={"on": "2026-11-05", "results": [
        {"candidate_id": 1, "event": "cell_approves", "inputs": {"approve": 3}}]})
    assert other_cell.status_code == 404                     # a candidate of another cell in my batch
    twice = client.post(url, headers=headers, json={"on": "2026-11-05", "results": [VOTE_ITEM, VOTE_ITEM]})
    assert twice.status_code == 422 and twice.json()["error"]["fields"][0]["code"] == "duplicate"
    ok = client.post(url, headers=headers, json={"on": "2026-11-05", "idempotency_key": "batch-2026-11b", "results": [VOTE_ITEM]})
    assert ok.status_code == 200 and ok.json()["applied"] == 1


VOTE_ITEM = {"candidate_id": DUNG, "event": "cell_approves", "inputs": {"approve": 3, "excused_absent": 1}}


def test_unknown_paths_and_methods_answer_in_the_error_format(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.put("/api/v1/me")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_the_openapi_document_describes_the_bearer_scheme_and_the_error_body(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "ErrorBody" in spec["components"]["schemas"]
    assert client.get("/api/docs").status_code == 200


def test_a_sponsor_writes_a_note_over_the_api_but_reads_no_file(client: TestClient, demo: Engine) -> None:
    headers = bearer(token_for(demo, SPONSOR_NL02))
    assert [c["id"] for c in client.get("/api/v1/candidates", headers=headers).json()] == [DUNG]
    assert client.get(f"/api/v1/candidates/{DUNG}", headers=headers).status_code == 403
    note = client.post(f"/api/v1/candidates/{DUNG}/notes", headers=headers,
                       json={"meeting_on": "2026-12-07", "text": "Gương mẫu trong công việc."})
    assert note.status_code == 201 and note.json()["meeting_on"] == "2026-12-07"


# --- concurrency over real HTTP, on both databases ------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest) -> Any:
    """The app on a loopback port (uvicorn in a thread) over the demo on SQLite or PostgreSQL."""
    import socket

    from ketnap.web_server import WebServer

    engine = request.getfixturevalue("demo" if request.param == "sqlite" else "demo_pg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = WebServer("127.0.0.1", port).start()
    yield server.url, engine
    server.stop()


def _race(url: str, headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))
    out: list[httpx.Response | None] = [None] * len(bodies)

    def post(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            barrier.wait()
            out[i] = c.post(url, json=bodies[i], headers=headers)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in out)
    return out  # type: ignore[return-value]


def test_the_same_request_sent_concurrently_is_applied_once(served: Any) -> None:
    base, engine = served
    responses = _race(f"{base}/api/v1/candidates/{DUNG}/transitions", bearer(token_for(engine, SECRETARY_NA_LA)),
                      [VOTE | {"idempotency_key": "double-tap-1"}] * 6)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 200: 5}), [r.text for r in responses]
    assert len({r.json()["audit_event_id"] for r in responses}) == 1
    assert transitions(engine, DUNG) == 5


def test_two_secretaries_racing_on_one_file_one_wins_the_other_is_told(served: Any) -> None:
    base, engine = served
    approve = VOTE | {"idempotency_key": "race-approve"}
    reject = {"event": "cell_rejects", "on": "2026-11-05", "inputs": {"approve": 1}, "idempotency_key": "race-reject"}
    responses = _race(f"{base}/api/v1/candidates/{DUNG}/transitions", bearer(token_for(engine, SECRETARY_NA_LA)),
                      [approve, reject, approve, reject])
    codes = sorted(r.status_code for r in responses)
    winners = {r.json()["event"] for r in responses if r.status_code == 201}
    assert len(winners) == 1 and codes.count(201) == 1
    losers = [r for r in responses if r.status_code == 409]
    assert losers and all(r.json()["error"]["code"] == "stage_conflict" for r in losers)
    assert transitions(engine, DUNG) == 5
    with engine.connect() as conn:
        assert conn.execute(select(CANDIDATE.c.stage).where(CANDIDATE.c.id == DUNG)).scalar_one() != "cell_review"
