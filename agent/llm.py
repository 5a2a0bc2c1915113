"""The LLM client protocol: the one seam between the planner and any model.

The planner, the shell and the evals see only this protocol and the neutral types of
``agent.messages``. Implementations: ``agent.openai_client.OpenAIClient`` (OpenAI, Azure OpenAI
and any OpenAI-compatible server, including the bundled local model) and the test doubles of
``agent.testing``. This module must not import a provider SDK.

It also owns the guard against real model requests in tests: with
``BATON_BLOCK_REMOTE_MODELS=1`` (``agent.testing.block_remote_models``; Baton's test suite sets
it for every test) clients call ``check_model_url`` and refuse any URL that is not loopback.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from agent.errors import ModelConfigError
from agent.messages import Message, ModelTurn
from tools.model import JSONObject

TextSink = Callable[[str], None]
"""Receives each piece of the assistant's text as it streams (for the shell's live display)."""


@runtime_checkable
class ModelClient(Protocol):
    """A chat model that can call tools.

    ``tools`` is the OpenAI ``tools`` array (the format of ``Catalog.to_openai``); an empty
    sequence means the model cannot call tools this turn. ``on_text`` receives text deltas as
    they arrive when the client streams; clients that do not stream may call it once with the
    whole text or not at all. ``complete`` raises ``agent.errors.ModelError`` (and subclasses)
    when the provider fails after retries; it never raises a provider SDK's own exceptions.
    """

    model: str

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[JSONObject],
        *,
        on_text: TextSink | None = None,
    ) -> ModelTurn: ...

    async def aclose(self) -> None: ...


BLOCK_REMOTE_MODELS_ENV = "BATON_BLOCK_REMOTE_MODELS"


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is 127.0.0.0/8, ::1 or ``localhost``."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_model_url(url: str, model: str) -> None:
    """Raise ``ModelConfigError`` for a non-loopback model URL while remote models are blocked."""
    if os.environ.get(BLOCK_REMOTE_MODELS_ENV, "") not in ("1", "true", "yes"):
        return
    if not is_loopback_url(url):
        raise ModelConfigError(
            f"remote model requests are blocked ({BLOCK_REMOTE_MODELS_ENV}=1): model {model!r} "
            f"at {url}; tests must use agent.testing doubles or a server on 127.0.0.1"
        )
