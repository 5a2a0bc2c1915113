"""Baton's agent layer: LLM clients, the planner loop, the shell and the CLI.

Names are resolved on first use (PEP 562): ``baton tools`` imports ``agent.cli`` and must not
pay for the openai SDK or the planner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Agent": "agent.agent",
    "AgentError": "agent.errors",
    "FunctionModel": "agent.testing",
    "LimitExceededError": "agent.errors",
    "Limits": "agent.planner",
    "LocalModel": "agent.local_model",
    "Message": "agent.messages",
    "ModelClient": "agent.llm",
    "ModelError": "agent.errors",
    "ModelTurn": "agent.messages",
    "OpenAIClient": "agent.openai_client",
    "RunError": "agent.errors",
    "RunResult": "agent.agent",
    "RunStore": "agent.runstore",
    "ScriptedModel": "agent.testing",
    "ToolCall": "agent.messages",
    "Transcript": "agent.transcript",
    "Usage": "agent.messages",
    "export_workflow": "agent.export",
    "open_model": "agent.config",
}

__all__ = [
    "Agent",
    "AgentError",
    "FunctionModel",
    "LimitExceededError",
    "Limits",
    "LocalModel",
    "Message",
    "ModelClient",
    "ModelError",
    "ModelTurn",
    "OpenAIClient",
    "RunError",
    "RunResult",
    "RunStore",
    "ScriptedModel",
    "ToolCall",
    "Transcript",
    "Usage",
    "export_workflow",
    "open_model",
]

if TYPE_CHECKING:
    from agent.agent import Agent, RunResult
    from agent.config import open_model
    from agent.errors import AgentError, LimitExceededError, ModelError, RunError
    from agent.export import export_workflow
    from agent.llm import ModelClient
    from agent.local_model import LocalModel
    from agent.messages import Message, ModelTurn, ToolCall, Usage
    from agent.openai_client import OpenAIClient
    from agent.planner import Limits
    from agent.runstore import RunStore
    from agent.testing import FunctionModel, ScriptedModel
    from agent.transcript import Transcript


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
