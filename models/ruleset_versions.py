"""Adding a rule-set version: a validated YAML file copied into the folder of added versions, audited.

Rule sets are versioned data files. A new version (an amendment of the implementing rules, with its effective
date and transitional provisions) is added by copying its file into `models.procedure.loader.extra_dir()`; every
process picks it up the first time it is asked for it. The organisation's audit chain records who added which
file, with the file's sha256, so that what the migrations ran under can be proven later.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from models.actors import Actor
from models.audit.trail import append_to_chain
from models.procedure.definition import RuleSet
from models.procedure.loader import check_new, current, extra_dir, refresh


@dataclass(frozen=True)
class AddedRuleset:
    version: str
    effective_from: str
    path: str
    sha256: str
    audit_event_id: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def add_ruleset(engine: Engine, content: bytes, source_name: str, actor: Actor, *,
                now: datetime | None = None) -> AddedRuleset:
    """Validate `content` (a procedure definition) and add it as a new version; DefinitionError if it is not
    valid, names a version already known, or its transitional provisions do not fit the versions it replaces."""
    text = content.decode("utf-8")
    rs = check_new(text, source_name)
    folder = extra_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{rs.version}.yaml"
    sha = hashlib.sha256(content).hexdigest()
    _write_new(target, content)
    try:
        refresh()
        with engine.begin() as conn:
            event = append_to_chain(conn, "org", kind="ruleset_added", actor=actor, ruleset_version=rs.version,
                                    now=now or datetime.now(UTC), reason=f"rule set {rs.version} added",
                                    payload={"version": rs.version, "title": rs.title,
                                             "effective_from": rs.effective_from.isoformat(), "file": target.name,
                                             "source_name": source_name, "sha256": sha,
                                             "replaces": list(rs.transitional.replaces) if rs.transitional else []})
    except BaseException:
        target.unlink(missing_ok=True)            # not audited: not added
        refresh()
        raise
    return AddedRuleset(rs.version, rs.effective_from.isoformat(), str(target), sha, event.id)


def _write_new(target: Path, content: bytes) -> None:
    """Write atomically (a reader never sees half a file) and never over an existing file."""
    tmp = target.with_suffix(".yaml.tmp")
    tmp.write_bytes(content)
    try:
        os.link(tmp, target)                      # fails if the target exists
    finally:
        tmp.unlink(missing_ok=True)


def describe(rs: RuleSet) -> dict[str, Any]:
    """A version with its effective date and transitional provisions (for the CLI and the admin page)."""
    tr = rs.transitional
    return {
        "version": rs.version, "title": rs.title, "effective_from": rs.effective_from.isoformat(),
        "stages": len(rs.stages), "events": len(rs.events),
        "transitional": None if tr is None else {
            "replaces": list(tr.replaces), "cite": tr.cite, "confidence": tr.confidence,
            "stay_on_previous": [{"stages": list(p.stages), "cite": p.cite, "confidence": p.confidence}
                                 for p in tr.stay_on_previous],
            "stage_map": dict(tr.stage_map)},
    }


def known_versions() -> list[dict[str, Any]]:
    """Every version, including one another process added a moment ago (the folder is looked at every time; the
    files are parsed again only when it changed)."""
    return [describe(rs) for rs in sorted(current(max_age=0).values(), key=lambda r: r.effective_from)]
