"""The LLM client protocol: the one seam between the planner and any model.

The planner, the shell and the evals see only this protocol and the neutral types of
``agent.messages``. Implementations: ``agent.openai_client.OpenAIClient`` (OpenAI, Azure OpenAI
and any OpenAI-compatible server, including the bundled local model) and the test doubles of
``agent.testing``. This module must not import a provider SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

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
