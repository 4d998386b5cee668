"""Guards: the rules a transition must satisfy, each a pure function over a Situation.

Importing this package registers every guard in `GUARDS`.
"""

from models.guards import eligibility, readmission, recognition, sponsors, votes  # noqa: F401  (registration)
from models.guards.registry import GUARDS, GuardSpec, Params, Problem, guard

__all__ = ["GUARDS", "GuardSpec", "Params", "Problem", "guard"]
