"""Who acts: a person (or the system) and the role they act in."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "organisation_department", "committee", "secretary", "sponsor", "system", "operator")


@dataclass(frozen=True)
class Actor:
    name: str            # account name, "cli:<user>", or "system:<flow>"
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; known: {', '.join(ROLES)}")
        if not self.name.strip():
            raise ValueError("an actor needs a name")


SYSTEM = Actor("system", "system")
