"""Arazzo 1.0.x workflows: load and check a document, bind it to OpenAPI sources, run it.

The runner makes every call through ``tools.executor.Executor`` (same validation,
credentials, policy and retries as agent runs) and reports ``StepRecord`` events; the agent
layer turns those into transcript steps. Nothing here imports ``agent``.
"""

from tools.arazzo.document import load_arazzo
from tools.arazzo.errors import ExpressionError, WorkflowDocumentError, WorkflowInputError
from tools.arazzo.model import ArazzoDocument, Step, Workflow
from tools.arazzo.plan import check_inputs, choose_workflow, reachable
from tools.arazzo.records import RunEvent, StepRecord, WorkflowRecord, WorkflowResult
from tools.arazzo.runner import WorkflowRunner
from tools.arazzo.sources import load_sources, sources_used

__all__ = [
    "ArazzoDocument",
    "ExpressionError",
    "RunEvent",
    "Step",
    "StepRecord",
    "Workflow",
    "WorkflowDocumentError",
    "WorkflowInputError",
    "WorkflowRecord",
    "WorkflowResult",
    "WorkflowRunner",
    "check_inputs",
    "choose_workflow",
    "load_arazzo",
    "load_sources",
    "reachable",
    "sources_used",
]
