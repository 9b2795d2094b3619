"""The solver's errors; it never imports the control room's error tree.

::

    ValueError
     +-- InstanceFormatError   a benchmark or solution file is malformed
     |                         (``path`` and ``line`` name the place)
     +-- ProblemDataError      a problem's plain data is invalid
     |    |                    (``field`` names the bad field)
     |    +-- UnknownReferenceError  an id points at nothing
     |                               (a location, depot or vehicle)
     +-- PlanDataError         a plan's plain data is invalid (``field``)
    RuntimeError
     +-- InvalidPlanError      the validator rejected a plan the planner built
                               (``violations`` lists what is wrong)
     +-- NoPlanFoundError      the search found no plan at all (a vehicle
                               cannot even reach its end depot in its shift)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from solver.validate import Violation


class InstanceFormatError(ValueError):
    """A benchmark instance or solution file does not follow its format."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ProblemDataError(ValueError):
    """A field of the problem's plain data holds a value the planner cannot use."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownReferenceError(ProblemDataError):
    """A field names a location, depot or vehicle the problem does not have."""


class PlanDataError(ValueError):
    """A field of a plan holds a value no plan can have."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidPlanError(RuntimeError):
    """The independent validator found a plan the planner built to be wrong.

    This is a bug in the planner, never in the caller's data: the plan is
    withheld rather than returned quietly wrong.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        lines = "; ".join(v.message for v in violations[:5])
        more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
        super().__init__(
            f"the planner built a plan with {len(violations)} violation(s): "
            f"{lines}{more}"
        )
        self.violations = tuple(violations)


class NoPlanFoundError(RuntimeError):
    """The search returned no plan, not even one that serves nothing.

    Every shipment may be dropped, so this only happens when a vehicle cannot
    go from where it is to its end depot within its shift.
    """
