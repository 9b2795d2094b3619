"""Route planning: plain data in, a plain plan out; no database, no UI."""

from solver.benchmarks import (
    BestKnownSolution,
    Customer,
    PdptwInstance,
    Task,
    Visit,
    VrptwInstance,
    best_known_file,
    read_best_known,
    read_pdptw,
    read_vrptw,
    route_distance,
    route_schedule,
    solution_distance,
)
from solver.errors import (
    InstanceFormatError,
    InvalidPlanError,
    NoPlanFoundError,
    PlanDataError,
    ProblemDataError,
    UnknownReferenceError,
)
from solver.li_lim import problem_from_li_lim
from solver.plan import (
    Plan,
    PlannedStop,
    Route,
    Unserved,
    UnservedReason,
    schedule_route,
)
from solver.planner import plan_routes
from solver.problem import (
    Depot,
    Location,
    OnBoardParcel,
    Problem,
    Shipment,
    Stop,
    StopKind,
    Vehicle,
)
from solver.reasons import unservable
from solver.validate import Violation, ViolationKind, validate

__all__ = [
    "BestKnownSolution",
    "Customer",
    "Depot",
    "InstanceFormatError",
    "InvalidPlanError",
    "Location",
    "NoPlanFoundError",
    "OnBoardParcel",
    "PdptwInstance",
    "Plan",
    "PlanDataError",
    "PlannedStop",
    "Problem",
    "ProblemDataError",
    "Route",
    "Shipment",
    "Stop",
    "StopKind",
    "Task",
    "UnknownReferenceError",
    "Unserved",
    "UnservedReason",
    "Vehicle",
    "Violation",
    "ViolationKind",
    "Visit",
    "VrptwInstance",
    "best_known_file",
    "plan_routes",
    "problem_from_li_lim",
    "read_best_known",
    "read_pdptw",
    "read_vrptw",
    "route_distance",
    "route_schedule",
    "schedule_route",
    "solution_distance",
    "unservable",
    "validate",
]
