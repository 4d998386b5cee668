"""CLI for meetings, reminders, the outbox and sponsors' notes (operators and secretaries)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer

from ketnap.cli.app_common import Json
from ketnap.cli.output import emit, fail, handled
from ketnap.context import cli_actor, delivery_options, engine, transport
from ketnap.context import now as clock
from models.calendar_in_force import current_calendar
from models.meetings import Meeting, meetings_between
from models.transitions import local_today
from models.vietnamese import date_short

reminders_app = typer.Typer(help="Reminders before cell meetings, and their delivery.", no_args_is_help=True)
outbox_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)
meetings_app = typer.Typer(help="Cells' monthly meetings.", no_args_is_help=True)
notes_app = typer.Typer(help="Sponsors' notes for cell meetings.", no_args_is_help=True)



def _month_bounds(month: str) -> tuple[date, date]:
    try:
        start = date.fromisoformat(f"{month}-01")
    except ValueError:
        fail(2, "bad_input", f"--month: {month!r} is not YYYY-MM", False)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


@reminders_app.command("plan")
def reminders_plan(
    month: Annotated[str | None, typer.Option(help="Plan every meeting of this month (YYYY-MM)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Plan what is due on this date (default today)")] = None,
    as_json: Json = False,
) -> None:
    """Queue the sponsors' reminders (once per sponsor, candidate and meeting) and missing-note alerts."""
    with handled(as_json):
        from models.reminders import due_for_reminders, plan_missing_note_alerts, plan_sponsor_notes

        eng, now = engine(), clock()
        cal = current_calendar(eng)
        if month:
            start, end = _month_bounds(month)
            meetings = meetings_between(eng, start, end, cal)
            past: list[Meeting] = []
        else:
            today = date.fromisoformat(as_of) if as_of else local_today(now)
            meetings = due_for_reminders(meetings_between(eng, today, today + timedelta(days=31), cal), today)
            past = meetings_between(eng, today - timedelta(days=190), today - timedelta(days=1), cal)
        notes = plan_sponsor_notes(eng, meetings, now=now)
        alerts = plan_missing_note_alerts(eng, past, now=now)
        data = {"meetings": [{"cell": m.cell_id, "on": m.on} for m in meetings], "reminders": notes.as_dict(),
                "missing_note_alerts": alerts.as_dict()}
        emit(data, as_json, lambda: typer.echo(
            f"{len(meetings)} meeting(s); reminders: {notes.created} new of {notes.considered} "
            f"({notes.unreachable} without contact); missing-note alerts: {alerts.created} new"))


@reminders_app.command("deliver")
def reminders_deliver(
    limit: Annotated[int, typer.Option(help="At most this many messages")] = 1000,
    at_night: Annotated[bool, typer.Option("--at-night", help="Send even in the quiet hours")] = False,
    as_json: Json = False,
) -> None:
    """Send what the outbox holds that is due (email over SMTP, or the maildir; Apprise URLs)."""
    with handled(as_json):
        from models.outbox import deliver

        options = delivery_options() | ({"at_night": True} if at_night else {})
        report = deliver(engine(), transport(), now=clock(), limit=limit, **options)
        data = report.as_dict()
        emit(data, as_json, lambda: typer.echo(
            "quiet hours: nothing sent (use --at-night)" if report.deferred_for_night else
            f"sent {report.sent}, to retry {report.retried}, given up {report.dead}"))


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sending, sent or dead")] = None,
    candidate: Annotated[int | None, typer.Option(help="Only this candidate's notifications")] = None,
    limit: int = 50,
    as_json: Json = False,
) -> None:
    """The latest notifications with their status, attempts and errors."""
    with handled(as_json):
        from models.outbox import listing

        rows = listing(engine(), status=status, candidate_id=candidate, limit=limit)

        def human() -> None:
            for r in rows:
                error = f"  ({r['last_error']})" if r["last_error"] else ""
                typer.echo(f"#{r['id']:<6} {r['status']:<8} {r['reason']:<24} {r['period_key']:<28} "
                           f"{r['recipient']}{error}")
        emit(rows, as_json, human)


@meetings_app.command("set")
def meetings_set(cell: str, day: Annotated[int, typer.Option("--day", help="Day of the month (1-31)")],
                 lead_days: Annotated[int, typer.Option(help="Reminders this many days before")] = 3,
                 as_json: Json = False) -> None:
    """A cell meets monthly on this day (moved to the next working day when needed)."""
    with handled(as_json):
        from models.meetings import set_rule

        set_rule(engine(), cell, day, lead_days)
        emit({"cell": cell, "day_of_month": day, "lead_days": lead_days}, as_json,
             lambda: typer.echo(f"{cell}: meets on day {day} of each month; reminders {lead_days} days before"))


@meetings_app.command("date")
def meetings_date(cell: str, month: str,
                  on: Annotated[str | None, typer.Option("--on", help="The meeting date this month")] = None,
                  none: Annotated[bool, typer.Option("--none", help="No meeting this month")] = False,
                  as_json: Json = False) -> None:
    """Override one month's meeting (a date, or none)."""
    with handled(as_json):
        from models.meetings import set_month

        if (on is None) == (not none):
            fail(2, "bad_input", "give exactly one of --on DATE or --none", as_json)
        day = date.fromisoformat(on) if on else None
        set_month(engine(), cell, month, day)
        emit({"cell": cell, "month": month, "on": day}, as_json,
             lambda: typer.echo(f"{cell} {month}: " + (date_short(day) if day else "no meeting")))


@meetings_app.command("list")
def meetings_list(start: Annotated[str, typer.Option("--from")], end: Annotated[str, typer.Option("--to")],
                  cell: Annotated[str | None, typer.Option(help="Only this cell")] = None, as_json: Json = False) -> None:
    """Every meeting in a period."""
    with handled(as_json):
        found = meetings_between(engine(), date.fromisoformat(start), date.fromisoformat(end), current_calendar(engine()),
                                 [cell] if cell else None)
        data = [{"cell": m.cell_id, "on": m.on, "lead_days": m.lead_days} for m in found]
        emit(data, as_json, lambda: [typer.echo(f"{date_short(m.on)}  {m.cell_id}") for m in found])


@notes_app.command("missing")
def notes_missing(cell: str, meeting: Annotated[str, typer.Option("--meeting", help="Meeting date")],
                  as_json: Json = False) -> None:
    """Which sponsors have not given their note for this meeting (what the secretary checks before it)."""
    with handled(as_json):
        from models.notes import missing_with_names

        rows = missing_with_names(engine(), cell, date.fromisoformat(meeting))
        emit(rows, as_json, lambda: [typer.echo(f"  {r['member']} → {r['candidate']}") for r in rows]
             or typer.echo("every note is in"))


@notes_app.command("record")
def notes_record(candidate: int, member: Annotated[str, typer.Option(help="Sponsor's member code")],
                 meeting: Annotated[str, typer.Option("--meeting")], text: Annotated[str, typer.Option("--text")],
                 as_: Annotated[str | None, typer.Option("--as")] = None, as_json: Json = False) -> None:
    """The secretary records a sponsor's note (given at the meeting)."""
    with handled(as_json):
        from models.notes import record

        form = record(engine(), candidate, member, date.fromisoformat(meeting), text, cli_actor(as_, "secretary"),
                      now=clock())
        emit({"audit_event_id": form["audit_event_id"]}, as_json,
             lambda: typer.echo(f"note of {form['member']} on {form['candidate']} for {date_short(form['meeting_on'])} recorded"))


@notes_app.command("submit")
def notes_submit(token: str, text: Annotated[str, typer.Option("--text")], as_json: Json = False) -> None:
    """Submit a note with the link's token (what the sponsor's note page does)."""
    with handled(as_json):
        from ketnap.settings import secret_key
        from models.links import LinkRefused
        from models.notes import submit

        try:
            form = submit(engine(), token, text, secret_key(), now=clock())
        except LinkRefused as exc:
            fail(2, f"link_{exc.reason}", exc.message_vi, as_json)
        emit({"audit_event_id": form["audit_event_id"], "candidate_id": form["candidate_id"]}, as_json,
             lambda: typer.echo(f"note on {form['candidate']} for {date_short(form['meeting_on'])} received"))


def register(app: typer.Typer) -> None:
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(meetings_app, name="meetings")
    app.add_typer(notes_app, name="notes")

