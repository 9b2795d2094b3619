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
from solver.errors import InstanceFormatError

__all__ = [
    "BestKnownSolution",
    "Customer",
    "InstanceFormatError",
    "PdptwInstance",
    "Task",
    "Visit",
    "VrptwInstance",
    "best_known_file",
    "read_best_known",
    "read_pdptw",
    "read_vrptw",
    "route_distance",
    "route_schedule",
    "solution_distance",
]
