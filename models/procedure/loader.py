"""Finding and loading procedure definitions: the shipped ones, plus the folder of versions added later.

That folder is $KETNAP_RULESETS_DIR, or `<KETNAP_HOME>/rulesets` when it is not set; `ketnap procedure add`
copies a validated file there. The versions are read once per process; a version asked for and not known yet
makes one rescan (another process may have added it), `current()` (and so `in_force_on`) notices a file added to
(or changed in) the folder by comparing its listing with the one loaded, at most once every RESCAN_SECONDS, and
`refresh()` rescans on demand.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from models.procedure.definition import DefinitionError, RuleSet, check_transitional_against, parse_ruleset

EXTRA_DIR_ENV = "KETNAP_RULESETS_DIR"
RESCAN_SECONDS = 2.0
Signature = tuple[str, tuple[tuple[str, int, int], ...]]


@dataclass
class _Scan:
    """The folder of added versions as last loaded, and when it was last looked at."""

    signature: Signature | None = None
    checked: float = 0.0


_seen = _Scan()


def extra_dir() -> Path:
    """Where added rule-set versions live: $KETNAP_RULESETS_DIR, else `<KETNAP_HOME>/rulesets`."""
    configured = os.environ.get(EXTRA_DIR_ENV)
    if configured:
        return Path(configured)
    from ketnap.settings import get_settings  # the one place KETNAP_HOME (and .env) is read

    return get_settings().home / "rulesets"


def load_text(text: str, source: str) -> RuleSet:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise DefinitionError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse_ruleset(data, source)


def load_file(path: str | Path) -> RuleSet:
    path = Path(path)
    return load_text(path.read_text(encoding="utf-8"), path.name)


@lru_cache(maxsize=1)
def all_rulesets() -> dict[str, RuleSet]:
    """Every known rule set by version: the shipped files, then those in $KETNAP_RULESETS_DIR."""
    found: dict[str, RuleSet] = {}
    sources = [(f.name, f.read_text(encoding="utf-8")) for f in resources.files("models.procedure.rulesets").iterdir()
               if f.name.endswith(".yaml")]
    extra = extra_dir()
    _seen.signature, _seen.checked = _signature(extra), time.monotonic()
    if extra.is_dir():
        sources += [(p.name, p.read_text(encoding="utf-8")) for p in sorted(extra.glob("*.yaml"))]
    names: dict[str, str] = {}
    for name, text in sorted(sources):
        rs = load_text(text, name)
        if rs.version in found:
            raise DefinitionError(name, [("version", f"{rs.version!r} is defined twice")])
        found[rs.version] = rs
        names[rs.version] = name
    for version, rs in found.items():
        problems = check_transitional_against(rs, found)
        if problems:
            raise DefinitionError(names[version], problems)
    return found


def _signature(folder: Path) -> Signature:
    """What the folder of added versions holds (names, sizes, modification times): a few stat calls."""
    try:
        files = tuple(sorted((p.name, st.st_size, st.st_mtime_ns) for p in folder.glob("*.yaml") if (st := p.stat())))
    except OSError:
        files = ()
    return str(folder), files


def current(max_age: float = RESCAN_SECONDS) -> dict[str, RuleSet]:
    """`all_rulesets()`, rescanned when the folder of added versions changed since it was read (looked at no more
    than once every `max_age` seconds: a few stat calls; 0 for a page listing the versions): a long-running process
    picks up a version added by `ketnap procedure add` without parsing every file again."""
    known = all_rulesets()
    if time.monotonic() - _seen.checked >= max_age:
        _seen.checked = time.monotonic()
        if _signature(extra_dir()) != _seen.signature:
            known = refresh()
    return known


def refresh() -> dict[str, RuleSet]:
    """Rescan the definitions (a version was added, here or by another process)."""
    all_rulesets.cache_clear()
    return all_rulesets()


def get_ruleset(version: str) -> RuleSet:
    known = all_rulesets()
    if version not in known:
        known = refresh()          # added since this process read the folder: look once more
    try:
        return known[version]
    except KeyError:
        raise KeyError(f"unknown rule-set version {version!r}; known: {sorted(known)}") from None


def check_new(text: str, source: str) -> RuleSet:
    """A definition about to be added: valid on its own, a version not known yet, its transitional provisions
    consistent with the versions it replaces."""
    rs = load_text(text, source)
    known = refresh()
    if rs.version in known:
        raise DefinitionError(source, [("version", f"{rs.version!r} is already known")])
    problems = check_transitional_against(rs, {**known, rs.version: rs})
    if problems:
        raise DefinitionError(source, problems)
    return rs


def in_force_on(day: date) -> RuleSet:
    """The rule set whose effective date is the latest on or before `day`."""
    candidates = [rs for rs in current().values() if rs.effective_from <= day]
    if not candidates:
        raise LookupError(f"no rule set was in force on {day.isoformat()}")
    return max(candidates, key=lambda rs: rs.effective_from)
