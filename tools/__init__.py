"""Baton's tools layer: OpenAPI in, validated HTTP calls out. Knows nothing about LLMs."""

from tools.call import BinaryBody, CallResult, PreparedRequest
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
from tools.model import HttpBinding, JSONObject, JSONValue, SecurityScheme, Server, Tool

__all__ = [
    "ArgumentError",
    "BinaryBody",
    "CallError",
    "CallResult",
    "CredentialsError",
    "HostNotAllowedError",
    "HttpBinding",
    "JSONObject",
    "JSONValue",
    "PolicyError",
    "PreparedRequest",
    "SecurityScheme",
    "Server",
    "SideEffectDeniedError",
    "SpecError",
    "Tool",
    "ToolsError",
    "UnknownToolError",
]
