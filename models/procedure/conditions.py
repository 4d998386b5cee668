"""Named conditions a definition uses to route an event (`to: [{stage, when}]`) or to apply a guard.

Each is a pure predicate over the situation *after* the event's records are applied, so a
counter the event increments is already counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from models.procedure.facts import Situation

Condition = Callable[[Situation, Mapping[str, Any]], bool]

CONDITIONS: dict[str, Condition] = {
    "has_intermediate_committee": lambda s, _: s.unit.has_intermediate_committee,
    "has_grassroots_committee": lambda s, _: s.unit.has_grassroots_committee,
    "is_readmission": lambda s, _: s.candidate.prior is not None,
    "failed_votes_reached": lambda s, p: (s.fact(p["counter"]) or 0) >= int(p["count"]),
    "probation_over": lambda s, _: s.fact("probation_ends_on") is not None and s.on >= s.fact("probation_ends_on"),
}

# Parameters each condition requires (checked when a definition loads).
CONDITION_PARAMS: dict[str, set[str]] = {"failed_votes_reached": {"count", "counter"}}
