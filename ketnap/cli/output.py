"""Printing results as text or JSON, and turning errors into exit codes.

Exit codes: 0 ok · 2 bad input · 3 refused by a guard · 4 conflict (someone acted first,
the event does not apply to the current stage, an idempotency key reused).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, NoReturn

import typer

from models.calendar_corrections import CorrectionRejected
from models.imports.rows import ImportRejected
from models.procedure.definition import DefinitionError
from models.procedure.engine import InputError, StageConflict
from models.transitions import CandidateNotFound, IdempotencyKeyReused, VersionConflict

EXIT_OK, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_CONFLICT = 0, 2, 3, 4


def _default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(to_json(data))
    else:
        human()


def fail(exit_code: int, code: str, message: str, as_json: bool, **details: Any) -> NoReturn:
    if as_json:
        typer.echo(to_json({"error": {"code": code, "message": message, **details}}))
    else:
        typer.echo(f"error: {message}", err=True)
        for line in details.get("lines", []):
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(exit_code)


@contextmanager
def handled(as_json: bool) -> Iterator[None]:
    """Map the domain's exceptions to messages and exit codes."""
    try:
        yield
    except InputError as exc:
        problems = [{"field": p.field, "code": p.code, "message": p.message, "message_vi": p.message_vi}
                    for p in exc.problems]
        fail(EXIT_BAD_INPUT, "bad_input", "the request is not valid", as_json, problems=problems,
             lines=[f"{p['field']}: {p['message']} — {p['message_vi']}" for p in problems])
    except ImportRejected as exc:
        fail(EXIT_BAD_INPUT, "import_rejected", f"{exc.source}: {len(exc.errors)} problem(s); nothing was imported",
             as_json, errors=[e.as_dict() for e in exc.errors], lines=[str(e) for e in exc.errors])
    except DefinitionError as exc:
        fail(EXIT_BAD_INPUT, "definition_invalid", f"{exc.source}: the procedure definition does not validate", as_json,
             problems=[{"where": w, "problem": p} for w, p in exc.problems], lines=[f"{w}: {p}" for w, p in exc.problems])
    except CandidateNotFound as exc:
        fail(EXIT_BAD_INPUT, "not_found", str(exc), as_json)
    except StageConflict as exc:
        fail(EXIT_CONFLICT, "stage_conflict", str(exc), as_json, stage=exc.stage, allowed_from=list(exc.allowed_from))
    except VersionConflict as exc:
        fail(EXIT_CONFLICT, "version_conflict", str(exc), as_json, expected=exc.expected, actual=exc.actual)
    except IdempotencyKeyReused as exc:
        fail(EXIT_CONFLICT, "idempotency_key_reused", str(exc), as_json)
    except CorrectionRejected as exc:
        problems = [{"field": p.field, "message": p.message, "message_vi": p.message_vi} for p in exc.problems]
        fail(EXIT_BAD_INPUT, "correction_rejected", "the calendar correction is not valid; nothing was changed", as_json,
             problems=problems, lines=[f"{p['field']}: {p['message']} — {p['message_vi']}" for p in problems])
    except (ValueError, LookupError, FileNotFoundError) as exc:
        fail(EXIT_BAD_INPUT, "bad_input", str(exc), as_json)


def eprint(text: str) -> None:
    print(text, file=sys.stderr)
