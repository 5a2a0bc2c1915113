"""Errors raised by the agent layer (LLM clients, configuration, the planner loop).

Tree::

    AgentError
    ├── ModelError                the model provider failed after retries (status, model)
    │   ├── ModelNotFoundError    the provider does not know the model name (HTTP 404)
    │   └── ModelAuthError        the provider refused the credentials (HTTP 401/403)
    ├── ModelConfigError          no usable model configuration (bad --model, extra missing, ...)
    │   └── MissingAPIKeyError    a provider needs a key and none is set; names the variable
    ├── ScriptExhaustedError      a test double (agent.testing) was asked for more turns
    │                             than it was given
    ├── LimitExceededError        a run limit (steps, tokens, wall time, consecutive errors)
    │                             was reached; carries the partial transcript
    └── RunError                  an unrecoverable error ended the run; carries the partial
                                  transcript and the cause

Errors the model can fix (unknown tool, invalid arguments, HTTP statuses) never become these:
they are observations the planner gives back to the model. These end a run or a command; the
CLI reports them as one ``error: ...`` line. Messages never contain secrets (API keys are named
by their variable, never shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agent.transcript import Transcript


class AgentError(Exception):
    """Root of the agent layer's errors."""


class ModelError(AgentError):
    """The model provider failed (after the client's retries, when the failure was transient).

    ``status`` is the HTTP status when the provider answered, None for connection failures and
    timeouts. ``model`` is the model name that was requested.
    """

    def __init__(self, message: str, *, model: str = "", status: int | None = None) -> None:
        self.message = message
        self.model = model
        self.status = status
        super().__init__(message)


class ModelNotFoundError(ModelError):
    """The provider answered 404 for the model: a typo, or a model this endpoint does not serve."""


class ModelAuthError(ModelError):
    """The provider refused the credentials (401/403): the key is wrong, revoked or lacks access."""


class ModelConfigError(AgentError):
    """No usable model configuration: says what was tried and how to configure one."""


class MissingAPIKeyError(ModelConfigError):
    """A provider needs an API key and none is configured. ``variable`` is what to set."""

    def __init__(self, variable: str, *, provider: str = "OpenAI", hint: str = "") -> None:
        self.variable = variable
        self.provider = provider
        extra = f" {hint}" if hint else ""
        super().__init__(
            f"no API key for {provider}: set {variable} (or pass api_key=...).{extra}".rstrip()
        )


class ScriptExhaustedError(AgentError):
    """A scripted test model was asked for a turn it was not given."""


LimitKind = Literal["steps", "tokens", "time", "consecutive_errors"]


class LimitExceededError(AgentError):
    """A run limit was reached before the model gave a final answer."""

    def __init__(
        self,
        limit: LimitKind,
        message: str,
        *,
        transcript: Transcript | None = None,
    ) -> None:
        self.limit: LimitKind = limit
        self.transcript = transcript
        super().__init__(message)


class RunError(AgentError):
    """An unrecoverable error ended the run. ``__cause__`` is the original error."""

    def __init__(self, message: str, *, transcript: Transcript | None = None) -> None:
        self.transcript = transcript
        super().__init__(message)
