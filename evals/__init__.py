"""Baton's offline evals: cases, HAR record/replay transports, fault injection, scoring."""

from evals.case import Case, CaseError, load_suite, load_targets
from evals.cassette import Cassette, CassetteError, RecordingTransport, ReplayTransport
from evals.faults import Fault, FaultTransport
from evals.restbench import import_restbench
from evals.runner import RunOptions, run_case, run_cases
from evals.scoring import CaseScore, SuiteScore

__all__ = [
    "Case",
    "CaseError",
    "CaseScore",
    "Cassette",
    "CassetteError",
    "Fault",
    "FaultTransport",
    "RecordingTransport",
    "ReplayTransport",
    "RunOptions",
    "SuiteScore",
    "import_restbench",
    "load_suite",
    "load_targets",
    "run_case",
    "run_cases",
]
