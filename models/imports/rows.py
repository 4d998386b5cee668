"""Reading import files row by row with their line numbers, and reporting every bad row.

YAML files give a list of mappings (each remembers the line it starts on); CSV files give one
row per line after the header (line 1). Empty CSV cells are absent values. Validation errors
become `RowError(line, field, rule)`; an import writes nothing unless every row is valid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

LINE = "__line__"
FIELD_LINES = "__field_lines__"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "rule": self.rule}


class ImportRejected(ValueError):
    """The file has bad rows; nothing was written."""

    def __init__(self, source: str, errors: list[RowError]):
        self.source = source
        self.errors = sorted(errors, key=lambda e: (e.line, e.field))
        super().__init__(f"{source}: {len(self.errors)} problem(s); nothing was imported\n"
                         + "\n".join(f"  {e}" for e in self.errors))


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings remember the line they start on."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    mapping[FIELD_LINES] = {key.value: key.start_mark.line + 1 for key, _ in node.value if hasattr(key, "value")}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise ImportRejected(source, [RowError(line, "file", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None


def read_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV file (UTF-8, comma or semicolon), each with its line number."""
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows = []
    for row in reader:
        cleaned = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
        if cleaned:
            cleaned[LINE] = reader.line_num
            rows.append(cleaned)
    return rows


def read_rows(path: Path, list_key: str) -> list[dict[str, Any]]:
    """Rows from a YAML file (a list, or a mapping with `list_key`) or a CSV file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return read_csv(text)
    data = load_yaml(text, path.name)
    if isinstance(data, dict) and list_key in data:
        data = data[list_key]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportRejected(path.name, [RowError(1, list_key, f"expected a list of {list_key}")])
    return data


def validate_rows(rows: Iterable[dict[str, Any]], model: type[M]) -> tuple[list[tuple[int, M]], list[RowError]]:
    """Each row validated by `model`; errors name the line, the field and the rule."""
    valid: list[tuple[int, M]] = []
    errors: list[RowError] = []
    for row in rows:
        line = row.get(LINE, 0)
        data = strip_lines(row)
        try:
            valid.append((line, model.model_validate(data)))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(RowError(_nested_line(row, err["loc"]), field, err["msg"]))
    return valid, errors


def _nested_line(row: dict[str, Any], loc: tuple[Any, ...]) -> int:
    """The line of the field the error is about, or of the innermost mapping on its path."""
    line = row.get(LINE, 0)
    node: Any = row
    for key in loc:
        if isinstance(node, dict) and key in node.get(FIELD_LINES, {}):
            line = node[FIELD_LINES][key]
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and LINE in node:
            line = node[LINE]
    return line


def strip_lines(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: strip_lines(v) for k, v in data.items() if k not in (LINE, FIELD_LINES)}
    if isinstance(data, list):
        return [strip_lines(v) for v in data]
    return data
