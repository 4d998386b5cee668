"""CLI for orchestration: `serve` (the embedded Prefect server and the deployments), `history`, `sweep`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ketnap.cli import views
from ketnap.cli.app_common import As, Json, Role, safe_url
from ketnap.cli.output import emit, fail, handled
from ketnap.context import cli_actor, engine
from ketnap.settings import get_settings
from models.casefile import open_casefile
from models.database import migrate

commands = typer.Typer()


@commands.command()
def history(
    candidate_id: int, as_json: Json = False, as_: As = None, role: Role = "organisation_department",
    export: Annotated[str | None, typer.Option("--export", help="Write the full history (events, documents, "
                      "notifications, notes, deadlines, reads, flow runs and logs, chain check) as pdf or csv")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="The file --export writes")] = None,
) -> None:
    """A candidate's audit events joined with their Prefect flow runs (state, start, duration);
    with --export pdf|csv --out FILE, the full history as a file. Either way the read is audited."""
    with handled(as_json):
        if export is not None or out is not None:
            _export_history(candidate_id, export, out, as_json, as_, role)
            return
        import asyncio

        from flows.history import flow_runs_for, join
        from flows.submit import prefect_api_url, prefect_reachable

        timeline = open_casefile(engine(), candidate_id, cli_actor(as_, role), purpose="cli history")["timeline"]
        runs = None
        url = prefect_api_url()
        if prefect_reachable(url):
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url}):
                runs = asyncio.run(flow_runs_for(candidate_id, {e["flow_run_id"] for e in timeline if e["flow_run_id"]}))
        data = join(timeline, runs)
        emit(data, as_json, lambda: views.print_history(data))


def _export_history(candidate_id: int, export: str | None, out: Path | None, as_json: bool, as_: str | None,
                    role: str) -> None:
    from datetime import UTC, datetime

    from flows.history import attach, read_flow_runs
    from models.casefile import record_read
    from models.history import candidate_history, export_csv, export_pdf
    from models.transitions import local_today

    if export not in ("pdf", "csv"):
        fail(2, "bad_input", f"--export: {export!r} is not a format of the history; use pdf or csv", as_json)
    if out is None:
        fail(2, "bad_input", "--out: give the file to write the history to", as_json)
    actor, now = cli_actor(as_, role), datetime.now(UTC)
    record_read(engine(), candidate_id, actor, f"cli history {export}", now=now)
    data = candidate_history(engine(), candidate_id, reader_role=role, today=local_today(now))
    attach(data, read_flow_runs(candidate_id, {e["flow_run_id"] for e in data["events"] if e["flow_run_id"]}))
    content = export_csv(data) if export == "csv" else export_pdf(data, reader=actor.name, generated_at=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    check = data["verification"]
    result = {"written": str(out), "format": export, "bytes": len(content), "chain_ok": check["ok"],
              "first_break": check["first_break"], "flow_runs": data["flow_runs"]["status"]}
    emit(result, as_json, lambda: typer.echo(
        f"wrote {out} ({len(content)} bytes); chain "
        + ("intact" if check["ok"] else f"BROKEN at event seq {check['first_break']['seq']}")
        + ("" if data["flow_runs"]["status"] == "ok" else "; flow runs not read (Prefect did not answer)")))


@commands.command()
def serve(
    host: Annotated[str, typer.Option(help="Where the embedded Prefect server listens")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the embedded Prefect server")] = 4200,
    deployments: Annotated[bool, typer.Option(
        "--deployments/--no-deployments",
        help="Serve the scheduled deployments in this process (the default). Use --no-deployments when "
             "workers run them from deploy/prefect.yaml, so the two do not register the same deployments.")] = True,
    web: Annotated[bool, typer.Option("--web/--no-web", help="Serve the web app and the API (the default).")] = True,
    web_port: Annotated[int | None, typer.Option("--web-port", help="Port of the web app (default KETNAP_WEB_PORT, 8000)")]
    = None,
) -> None:
    """Run ketnap: the web app and API, a local Prefect server (unless PREFECT_API_URL is set) and the
    scheduled deployments, until Ctrl-C."""
    import os
    import signal

    from ketnap.prefect_server import LocalPrefectServer, healthy

    settings = get_settings()
    migrate(settings.db_url)
    server = None
    web_server = None
    url = os.environ.get("PREFECT_API_URL")
    if url:
        if not healthy(url):
            fail(2, "prefect_unreachable", f"PREFECT_API_URL={url} does not answer", False)
    else:
        server = LocalPrefectServer(settings.home / "prefect", host, port)
        typer.echo(f"starting the embedded Prefect server (SQLite in {server.home}) …")
        server.start()
        url = server.api_url
        os.environ["PREFECT_API_URL"] = url
    # Ctrl-C and SIGTERM both stop cleanly (a process started in the background may inherit SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from prefect import serve as prefect_serve

        from flows.deployments import SCHEDULES, runner_deployments

        typer.echo(f"ketnap: database {safe_url(settings.db_url)}; Prefect API {url}")
        if web:
            from ketnap.web_server import WebServer

            web_server = WebServer(settings.web_host, web_port or settings.web_port).start()
            typer.echo(f"web app: {web_server.url}  (API: {web_server.url}/api/docs)")
            _print_demo_accounts()
        if deployments:
            typer.echo("serving: " + ", ".join(SCHEDULES) + " (schedules in Asia/Ho_Chi_Minh). Ctrl-C stops.")
            prefect_serve(*runner_deployments(), pause_on_shutdown=False, print_starting_message=False)
        else:
            typer.echo("not serving deployments (workers run them). Ctrl-C stops.")
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        if web_server is not None:
            web_server.stop()
        if server is not None:
            typer.echo("stopping the embedded Prefect server …")
            server.stop()
        typer.echo("ketnap stopped")


@commands.command("web")
def web_only(
    host: Annotated[str | None, typer.Option(help="Listen address (default KETNAP_WEB_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default KETNAP_WEB_PORT, 8000)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (each runs steps' flows in-process)")] = 1,
) -> None:
    """Serve only the web app and the API (no Prefect server, no deployments): for several web processes
    behind a reverse proxy, next to a Prefect server and workers (deploy/compose.yaml)."""
    import uvicorn

    settings = get_settings()
    migrate(settings.db_url)
    typer.echo(f"web app on http://{host or settings.web_host}:{port or settings.web_port}; database "
               f"{safe_url(settings.db_url)}")
    uvicorn.run("web.app:create_app", factory=True, host=host or settings.web_host, port=port or settings.web_port,
                workers=workers, log_level="warning", proxy_headers=settings.trust_proxy, server_header=False)


def _print_demo_accounts() -> None:
    """The demo accounts a visitor can log in with, when the demo is loaded (never in production)."""
    from sqlalchemy import select

    from ketnap.demo import demo_accounts
    from models.accounts import ACCOUNT, authenticate
    from models.accounts import LoginRefused as _Refused

    if get_settings().environment == "production":
        return
    password, items = demo_accounts()
    with engine().connect() as conn:
        present = set(conn.execute(select(ACCOUNT.c.username)).scalars())
    shown = [a for a in items if a["username"] in present]
    if not shown:
        return
    try:   # only advertise the password while it still opens the first demo account
        authenticate(engine(), shown[0]["username"], password, "serve")
    except _Refused:
        return
    typer.echo(f"demo accounts (password {password}):")
    for a in shown:
        typer.echo(f"  {a['username']:<15} {a.get('note', '')}")


sweep_app = typer.Typer(help="Run a scheduled sweep now (as a Prefect flow run when Prefect answers).",
                        no_args_is_help=True)


@sweep_app.command("deadlines")
def sweep_deadlines(as_of: Annotated[str | None, typer.Option("--as-of", help="Run as of this date")] = None,
                    as_json: Json = False) -> None:
    """Flag overdue deadlines, open recognition where probation has ended, warn of expiring certificates,
    queue deadline and probation notices (directly when Prefect does not answer)."""
    with handled(as_json):
        from flows.submit import prefect_api_url, prefect_reachable

        if prefect_reachable(prefect_api_url()):
            data = _run_sweep("deadline_sweep", as_of=as_of)
        else:
            from flows.sweeps import deadline_sweep_without_prefect

            data = deadline_sweep_without_prefect(as_of) | {"orchestration": "deferred"}
        emit(data, as_json, lambda: typer.echo(", ".join(f"{k}: {v}" for k, v in data.items())))


@sweep_app.command("link")
def sweep_link(as_json: Json = False) -> None:
    """Link to flow runs every step recorded while Prefect was unreachable."""
    with handled(as_json):
        data = _run_sweep("link_pending_requests")
        emit(data, as_json, lambda: typer.echo(", ".join(f"{k}: {v}" for k, v in data.items())))


def _run_sweep(name: str, **kwargs: object) -> dict:
    import asyncio

    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.sweeps as sweeps
    from flows.submit import prefect_api_url, prefect_reachable

    url = prefect_api_url()
    if not prefect_reachable(url):
        fail(2, "prefect_unreachable", f"Prefect does not answer at {url}; start `ketnap serve` or set PREFECT_API_URL",
             False)
    with temporary_settings(updates={PREFECT_API_URL: url}):
        return asyncio.run(getattr(sweeps, name)(**{k: v for k, v in kwargs.items() if v is not None}))


def register(app: typer.Typer) -> None:
    for command in commands.registered_commands:
        app.registered_commands.append(command)
    app.add_typer(sweep_app, name="sweep")


def print_candidate_verification(data: dict) -> None:
    """`ketnap audit verify --candidate ID`: intact, or the first broken event named."""
    if data["ok"]:
        typer.echo(f"candidate {data['candidate_id']}: chain intact, {data['events']} events, head at seq {data['head_seq']}")
        return
    b = data["first_break"]
    if b["event_id"] is None:
        typer.echo(f"candidate {data['candidate_id']}: CHAIN BROKEN at its end: {b['problem']}")
        return
    typer.echo(f"candidate {data['candidate_id']}: CHAIN BROKEN; first broken event: id {b['event_id']}, seq {b['seq']}, "
               f"{b['kind']} '{b['label']}' recorded {b['recorded_at']:%d/%m/%Y %H:%M:%S}: {b['problem']}")
