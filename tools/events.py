"""Events the tools layer reports while executing a call (one per HTTP attempt, etc.).

The agent's transcript embeds these unchanged; evals and workflows read them. Every URL and
header here is already redacted: secrets never reach an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HttpAttempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["http_attempt"] = "http_attempt"
    tool: str
    attempt: int  # 1-based
    method: str
    url: str  # redacted
    status: int | None = None  # None when no response arrived
    elapsed_ms: float
    error: str | None = None  # transport error text, if any
    retry_reason: str | None = None  # why another attempt follows ("429", "timeout", ...)
    wait_s: float | None = None  # how long the executor waits before the next attempt


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["policy"] = "policy"
    tool: str
    decision: Literal["allow", "deny", "always", "dry_run"]
    reason: str = ""


class ContractDrift(BaseModel):
    """The response did not match the spec's schema: a warning, never a failure."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["contract_drift"] = "contract_drift"
    tool: str
    status: int
    problems: list[str] = Field(default_factory=list)


ToolEvent = HttpAttempt | PolicyDecision | ContractDrift
EventSink = Callable[[ToolEvent], None]
