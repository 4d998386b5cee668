"""Finding and loading procedure definitions: the shipped ones, plus an optional extra folder."""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from models.procedure.definition import DefinitionError, RuleSet, parse_ruleset

EXTRA_DIR_ENV = "KETNAP_RULESETS_DIR"


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
    extra = os.environ.get(EXTRA_DIR_ENV)
    if extra:
        sources += [(p.name, p.read_text(encoding="utf-8")) for p in sorted(Path(extra).glob("*.yaml"))]
    for name, text in sorted(sources):
        rs = load_text(text, name)
        if rs.version in found:
            raise DefinitionError(name, [("version", f"{rs.version!r} is defined twice")])
        found[rs.version] = rs
    return found


def get_ruleset(version: str) -> RuleSet:
    try:
        return all_rulesets()[version]
    except KeyError:
        raise KeyError(f"unknown rule-set version {version!r}; known: {sorted(all_rulesets())}") from None


def in_force_on(day: date) -> RuleSet:
    """The rule set whose effective date is the latest on or before `day`."""
    candidates = [rs for rs in all_rulesets().values() if rs.effective_from <= day]
    if not candidates:
        raise LookupError(f"no rule set was in force on {day.isoformat()}")
    return max(candidates, key=lambda rs: rs.effective_from)
