"""The guard registry: every rule a procedure definition may name, with the shape of its parameters.

A guard is a pure function `(situation, params) -> iterable of Problem`. It explains each
refusal: a machine code, a Vietnamese sentence a secretary understands, and the figures
behind it. The engine adds the citation from the definition. A definition naming an unknown
guard, or giving it parameters of the wrong shape, refuses to load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from models.procedure.facts import Situation


class Params(BaseModel):
    """Base for guard parameters: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class Problem:
    """One reason a guard refuses: what broke, in words, and the figures."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardSpec(Generic[P]):
    name: str
    summary: str                  # English, for the transition table
    params_model: type[P]
    check: Callable[[Situation, P], Iterable[Problem]]
    reads_inputs: bool = False    # True: it judges what the user enters (votes, a named helper), so it
                                  # cannot be checked before the form is filled in


GUARDS: dict[str, GuardSpec[Any]] = {}


def guard(name: str, summary: str, params_model: type[P] = Params, *, reads_inputs: bool = False):  # type: ignore[assignment]
    """Register a guard function under `name`."""

    def register(fn: Callable[[Situation, P], Iterable[Problem]]) -> Callable[[Situation, P], Iterable[Problem]]:
        if name in GUARDS:
            raise ValueError(f"guard {name!r} registered twice")
        GUARDS[name] = GuardSpec(name, summary, params_model, fn, reads_inputs)
        return fn

    return register
