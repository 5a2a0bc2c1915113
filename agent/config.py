"""Which model Baton talks to: resolving settings from arguments and the environment.

Order (the first that applies wins):

1. ``--model local`` or ``BATON_MODEL=local``: the bundled local model (``agent.local_model``).
2. ``OPENAI_BASE_URL``: an OpenAI-compatible server (Ollama, vLLM, LiteLLM, llama.cpp, ...),
   key from ``OPENAI_API_KEY`` if set; model from ``--model``/``BATON_MODEL``, else the one model
   the server serves.
3. ``AZURE_OPENAI_ENDPOINT``: Azure OpenAI (``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION``);
   the model name is the deployment name and is required.
4. ``OPENAI_API_KEY`` or an explicit model name: OpenAI itself (``gpt-4o-mini`` by default; a
   name without a key fails with ``MissingAPIKeyError`` naming ``OPENAI_API_KEY``).
5. Nothing configured: the local model when the ``local`` extra is installed, else a
   ``ModelConfigError`` that says how to configure one.

``open_model`` returns a ``ModelClient`` synchronously and does no I/O (callers may run it in a
thread); its ``aclose()`` releases everything it holds, including the local model's server,
and it is an async context manager: ``async with open_model() as model: ...``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx2

from agent.errors import ModelConfigError
from agent.local_model import SETUP_HINT, LocalModel, local_model_available
from agent.openai_client import OPENAI_URL, OpenAIClient

LOCAL = "local"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
Provider = Literal["openai", "compatible", "azure", "local"]

NOTHING_CONFIGURED = (
    "no model configured: set OPENAI_API_KEY (and optionally BATON_MODEL) for OpenAI, "
    "OPENAI_BASE_URL for a compatible server (Ollama, vLLM, LiteLLM, llama.cpp), "
    "AZURE_OPENAI_ENDPOINT for Azure OpenAI, or " + SETUP_HINT + " for the offline model"
)


@dataclass(frozen=True)
class ModelSettings:
    """A resolved model configuration. ``source`` says where the choice came from."""

    provider: Provider
    model: str  # "" for a compatible server: the one model it serves
    source: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    azure_endpoint: str | None = None
    api_version: str | None = None

    def describe(self) -> str:
        """One line for people (never shows the key)."""
        name = self.model or "(the server's model)"
        where = {
            "openai": OPENAI_URL,
            "compatible": self.base_url or "",
            "azure": self.azure_endpoint or "",
            "local": "local llama.cpp server on 127.0.0.1",
        }[self.provider]
        return f"{name} at {where} (from {self.source})"


def resolve_model_settings(
    name: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    local_available: Callable[[], bool] = local_model_available,
) -> ModelSettings:
    """Apply the order of the module docstring. ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    source = "--model" if name else "BATON_MODEL"
    name = name or env.get("BATON_MODEL") or None
    key = env.get("OPENAI_API_KEY") or None
    if name == LOCAL:
        if not local_available():
            raise ModelConfigError(f"the local model is not installed: {SETUP_HINT}")
        return ModelSettings("local", LOCAL, source)
    base_url = env.get("OPENAI_BASE_URL") or None
    if base_url:
        return ModelSettings(
            "compatible", name or "", source if name else "OPENAI_BASE_URL", base_url, key
        )
    azure = env.get("AZURE_OPENAI_ENDPOINT") or None
    if azure:
        if not name:
            raise ModelConfigError(
                "Azure OpenAI needs the deployment name: pass --model or set BATON_MODEL"
            )
        return ModelSettings(
            "azure",
            name,
            source,
            api_key=env.get("AZURE_OPENAI_API_KEY") or None,
            azure_endpoint=azure,
            api_version=env.get("OPENAI_API_VERSION") or None,
        )
    if key or name:
        return ModelSettings(
            "openai",
            name or DEFAULT_OPENAI_MODEL,
            source if name else "OPENAI_API_KEY",
            api_key=key,
        )
    if local_available():
        return ModelSettings("local", LOCAL, "fallback: nothing else configured")
    raise ModelConfigError(NOTHING_CONFIGURED)


def client_for(
    settings: ModelSettings, *, http_client: httpx2.AsyncClient | None = None
) -> OpenAIClient | LocalModel:
    """The ``ModelClient`` for resolved settings (no I/O; the local server starts on first use)."""
    match settings.provider:
        case "local":
            return LocalModel()
        case "azure":
            assert settings.azure_endpoint is not None
            return OpenAIClient(
                settings.model,
                api_key=settings.api_key,
                azure_endpoint=settings.azure_endpoint,
                api_version=settings.api_version,
                http_client=http_client,
            )
        case "compatible" | "openai":
            return OpenAIClient(
                settings.model,
                api_key=settings.api_key,
                base_url=settings.base_url or OPENAI_URL,
                http_client=http_client,
            )


def open_model(
    name: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> OpenAIClient | LocalModel:
    """Resolve and build the model client; raises ``ModelConfigError`` with what to set."""
    return client_for(resolve_model_settings(name, env=env), http_client=http_client)
