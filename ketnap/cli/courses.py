"""CLI for course sessions: add and list sessions, run the enrolment, the roster, attendance, certificates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from ketnap.cli.app_common import Json
from ketnap.cli.output import EXIT_CONFLICT, emit, fail, handled
from ketnap.context import cli_actor, engine
from ketnap.context import now as clock
from models.transitions import local_today
from models.vietnamese import date_short

course_app = typer.Typer(help="Awareness and new-member course sessions, enrolment, roster and certificates.",
                         no_args_is_help=True)


As = Annotated[str | None, typer.Option("--as", help="Who acts (recorded in the audit trail).")]
Role = Annotated[str, typer.Option("--role", help="Role acted in: admin, secretary, organisation_department, operator.")]
KIND_HELP = "awareness (bồi dưỡng nhận thức về Đảng) or new_member (đảng viên mới)"


def _day(value: str, option: str, as_json: bool) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(2, "bad_input", f"{option}: {value!r} is not a date (YYYY-MM-DD)", as_json)


def _ids(values: list[str] | None, option: str, as_json: bool) -> list[int]:
    """Candidate ids from repeated options and/or comma-separated lists: --present 3 --present 5,8."""
    out: list[int] = []
    for value in values or []:
        for part in value.replace(";", ",").split(","):
            if not part.strip():
                continue
            if not part.strip().isdigit():
                fail(2, "bad_input", f"{option}: {part.strip()!r} is not a candidate id", as_json)
            out.append(int(part))
    return out


@course_app.command("add")
def course_add(
    kind: Annotated[str, typer.Option("--kind", help=KIND_HELP)],
    provider: Annotated[str, typer.Option("--provider", help="Who gives it, e.g. Trung tâm Chính trị …")],
    starts_on: Annotated[str, typer.Option("--starts-on", help="First day, YYYY-MM-DD")],
    ends_on: Annotated[str, typer.Option("--ends-on", help="Last day, YYYY-MM-DD")],
    place: Annotated[str, typer.Option("--place", help="Where")],
    capacity: Annotated[int, typer.Option("--capacity", help="How many learners")],
    area: Annotated[str, typer.Option("--area", help="Committee (unit id) whose cells it serves")],
    as_json: Json = False,
) -> None:
    """Add a session of a course for the cells under a committee."""
    with handled(as_json):
        from models.courses import add_session

        start, end = _day(starts_on, "--starts-on", as_json), _day(ends_on, "--ends-on", as_json)
        session_id = add_session(engine(), kind, provider, start, end, place, capacity, area)
        emit({"session_id": session_id}, as_json, lambda: typer.echo(
            f"session #{session_id}: {kind}, {date_short(start)}–{date_short(end)}, {capacity} seats, area {area}"))


@course_app.command("list")
def course_list(kind: Annotated[str | None, typer.Option("--kind", help=KIND_HELP)] = None,
                as_json: Json = False) -> None:
    """Sessions, latest first, with the seats taken (enrolled, attended or certified)."""
    with handled(as_json):
        from models.courses import KINDS, list_sessions

        if kind is not None and kind not in KINDS:
            fail(2, "bad_input", f"--kind: {kind!r} is not one of {', '.join(KINDS)}", as_json)
        rows = list_sessions(engine(), kind)

        def human() -> None:
            if not rows:
                typer.echo("(no sessions)")
            for r in rows:
                typer.echo(f"#{r['id']:<4} {r['kind']:<10} {date_short(r['starts_on'])}–{date_short(r['ends_on'])} "
                           f"{r['taken']:>3}/{r['capacity']:<3} {r['area_unit_id']:<16} {r['place']} ({r['provider']})")
        emit(rows, as_json, human)


@course_app.command("queue")
def course_queue(kind: Annotated[str, typer.Option("--kind", help=KIND_HELP)] = "awareness",
                 as_json: Json = False) -> None:
    """Nominees waiting for a seat, first nominated first."""
    with handled(as_json):
        from models.courses import nominees

        rows = [n.__dict__ for n in nominees(engine(), kind)]
        emit(rows, as_json, lambda: [typer.echo(
            f"#{r['candidate_id']:<4} {r['cell_id']:<18} {date_short(r['nominated_on']) if r['nominated_on'] else '—'}")
            for r in rows] or typer.echo("(nobody waiting)"))


@course_app.command("enrol")
def course_enrol(as_of: Annotated[str | None, typer.Option("--as-of", help="Run as of this date (default today)")] = None,
                 as_json: Json = False) -> None:
    """Enrol nominees in the earliest session with room in their area and notify them (a flow run when
    Prefect answers; applied directly otherwise). Running it again enrols nobody twice."""
    with handled(as_json):
        data = _enrol(_day(as_of, "--as-of", as_json).isoformat() if as_of else None)
        emit(data, as_json, lambda: typer.echo(
            f"enrolled {data['enrolled']} of {data['considered']} nominee(s); {data['waiting']} waiting for a session "
            f"with room; {data['notifications']} notification(s) queued ({data['orchestration']})"))


def _enrol(as_of: str | None) -> dict[str, Any]:
    import asyncio

    from flows.submit import prefect_api_url, prefect_reachable

    url = prefect_api_url()
    if prefect_reachable(url):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.sweeps import course_enrolment

        with temporary_settings(updates={PREFECT_API_URL: url}):
            return asyncio.run(course_enrolment(as_of=as_of)) | {"orchestration": "flow_run"}
    from models.courses import plan_enrolment

    now = clock()
    today = date.fromisoformat(as_of) if as_of else local_today(now)
    return plan_enrolment(engine(), today, now=now).as_dict() | {"orchestration": "direct"}


@course_app.command("roster")
def course_roster(session: Annotated[int, typer.Argument(help="Session id")], as_json: Json = False) -> None:
    """A session's learners with their status and certificate."""
    with handled(as_json):
        from models.courses import roster

        data = roster(engine(), session)

        def human() -> None:
            s = data["session"]
            typer.echo(f"session #{s['id']} {s['kind']} {date_short(s['starts_on'])}–{date_short(s['ends_on'])} "
                       f"at {s['place']} ({s['provider']}); {s['taken']}/{s['capacity']} seats; area {s['area']}")
            if not data["learners"]:
                typer.echo("  (nobody enrolled)")
            for r in data["learners"]:
                cert = f"  {r['certificate_number']} {date_short(r['certificate_on'])}" if r["certificate_on"] else ""
                typer.echo(f"  #{r['candidate_id']:<4} {r['full_name']:<24} {r['cell_id']:<18} {r['status']:<9}{cert}")
        emit(data, as_json, human)


@course_app.command("attend")
def course_attend(
    session: Annotated[int, typer.Argument(help="Session id")],
    present: Annotated[list[str] | None, typer.Option("--present", help="Candidate ids present (repeat, or 3,5,8)")] = None,
    absent: Annotated[list[str] | None, typer.Option("--absent", help="Candidate ids absent (back in the queue)")] = None,
    as_json: Json = False,
    as_: As = None,
    role: Role = "organisation_department",
) -> None:
    """Record who attended a session and who was absent (absentees wait for a later session)."""
    with handled(as_json):
        from models.courses import record_attendance

        data = record_attendance(engine(), session, _ids(present, "--present", as_json), _ids(absent, "--absent", as_json),
                                 actor=cli_actor(as_, role), now=clock())
        emit(data, as_json, lambda: typer.echo(
            f"session #{session}: {len(data['attended'])} attended, {len(data['absent'])} absent "
            f"({data['changed']} changed)"))


@course_app.command("certificates")
def course_certificates(
    file: Annotated[Path, typer.Argument(help="CSV: candidate_id,certificate_number,certificate_on")],
    as_json: Json = False,
    as_: As = None,
    role: Role = "organisation_department",
) -> None:
    """Record the certificates of a session's learners, all or nothing; each is a step of the procedure."""
    with handled(as_json):
        from models.courses import CertificateNotApplied, record_certificates_from_file

        try:
            rows = record_certificates_from_file(engine(), file, cli_actor(as_, role), now=clock())
        except CertificateNotApplied as exc:
            fail(EXIT_CONFLICT, "refused_when_applied", str(exc), as_json, line=exc.line, candidate_id=exc.candidate_id,
                 reasons=exc.reasons)

        def human() -> None:
            for r in rows:
                where = f" → {r['stage_after']} ({r['orchestration']})" if r["status"] == "certified" else ""
                typer.echo(f"line {r['line']}: #{r['candidate_id']} {r['certificate_number']} "
                           f"{date_short(r['certificate_on'])} {r['status']}{where}")
        emit(rows, as_json, human)


def register(app: typer.Typer) -> None:
    app.add_typer(course_app, name="course")
