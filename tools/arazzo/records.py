"""What a workflow run reports: one record per step attempt, workflow start/end, the result.

Owns the persisted shapes (pydantic) that the agent layer turns into transcript steps
(``agent.cli_workflow``); the tools layer never imports the transcript itself. Requests and
results are the executor's redacted ``PreparedRequest`` / ``CallResult``: nothing secret.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.call import CallResult, PreparedRequest
from tools.events import HttpAttempt
from tools.model import JSONObject


def _now() -> str:
    return datetime.now(UTC).isoformat()


class StepRecord(BaseModel):
    """One attempt of one step (a retried step has several)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["step"] = "step"
    at: str = Field(default_factory=_now)
    workflow_id: str
    step_id: str
    pointer: str = ""  # the step in the Arazzo document
    attempt: int = 1
    source: str | None = None  # source description name (operation steps)
    tool: str | None = None  # tool called; None for a workflow step
    workflow: str | None = None  # workflow called by a workflow step
    status: int | None = None  # HTTP status (a workflow step: its workflow's last one)
    operation_id: str | None = None
    arguments: JSONObject | None = None  # redacted arguments sent
    request: PreparedRequest | None = None
    result: CallResult | None = None
    attempts: list[HttpAttempt] = Field(default_factory=list)
    success: bool = False
    failed_criteria: list[str] = Field(default_factory=list)
    outputs: JSONObject = Field(default_factory=dict)
    next: str = ""  # what followed: "next", "end", "goto step X", "retry", "fail", ...
    error: str | None = None
    error_type: str | None = None
    elapsed_ms: float = 0.0


class WorkflowRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["workflow"] = "workflow"
    at: str = Field(default_factory=_now)
    workflow_id: str
    phase: Literal["start", "end"]
    success: bool | None = None  # set at the end
    outputs: JSONObject = Field(default_factory=dict)
    error: str | None = None


RunEvent = StepRecord | WorkflowRecord
EventHandler = Callable[[RunEvent], None]


class WorkflowResult(BaseModel):
    workflow_id: str
    success: bool
    outputs: JSONObject = Field(default_factory=dict)
    steps: list[StepRecord] = Field(default_factory=list)  # every attempt, nested ones too
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    last_status: int | None = None  # status of the last call made (a workflow step's $statusCode)
