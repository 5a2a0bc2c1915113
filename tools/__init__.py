"""Baton's tools layer: OpenAPI in, validated HTTP calls out. Knows nothing about LLMs.

Names are resolved on first use (PEP 562), so ``import tools.cache`` on the CLI's hot path does
not drag in the executor, httpx2 or jsonschema.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ArgumentError": "tools.errors",
    "BinaryBody": "tools.call",
    "CallError": "tools.errors",
    "CallResult": "tools.call",
    "Catalog": "tools.catalog",
    "Credentials": "tools.credentials",
    "CredentialsError": "tools.errors",
    "Executor": "tools.executor",
    "ExecutorSettings": "tools.executor",
    "HostNotAllowedError": "tools.errors",
    "HttpBinding": "tools.model",
    "JSONObject": "tools.model",
    "JSONValue": "tools.model",
    "Policy": "tools.policy",
    "PolicyError": "tools.errors",
    "PreparedRequest": "tools.call",
    "Redactor": "tools.redact",
    "SearchHit": "tools.catalog",
    "SecurityScheme": "tools.model",
    "Server": "tools.model",
    "SideEffectDeniedError": "tools.errors",
    "SpecError": "tools.errors",
    "Tool": "tools.model",
    "ToolsError": "tools.errors",
    "UnknownToolError": "tools.errors",
    "ingest_spec": "tools.ingest",
    "load_catalog": "tools.cache",
}

__all__ = [
    "ArgumentError",
    "BinaryBody",
    "CallError",
    "CallResult",
    "Catalog",
    "Credentials",
    "CredentialsError",
    "Executor",
    "ExecutorSettings",
    "HostNotAllowedError",
    "HttpBinding",
    "JSONObject",
    "JSONValue",
    "Policy",
    "PolicyError",
    "PreparedRequest",
    "Redactor",
    "SearchHit",
    "SecurityScheme",
    "Server",
    "SideEffectDeniedError",
    "SpecError",
    "Tool",
    "ToolsError",
    "UnknownToolError",
    "ingest_spec",
    "load_catalog",
]

if TYPE_CHECKING:
    from tools.cache import load_catalog
    from tools.call import BinaryBody, CallResult, PreparedRequest
    from tools.catalog import Catalog, SearchHit
    from tools.credentials import Credentials
    from tools.errors import (
        ArgumentError,
        CallError,
        CredentialsError,
        HostNotAllowedError,
        PolicyError,
        SideEffectDeniedError,
        SpecError,
        ToolsError,
        UnknownToolError,
    )
    from tools.executor import Executor, ExecutorSettings
    from tools.ingest import ingest_spec
    from tools.model import HttpBinding, JSONObject, JSONValue, SecurityScheme, Server, Tool
    from tools.policy import Policy
    from tools.redact import Redactor


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
