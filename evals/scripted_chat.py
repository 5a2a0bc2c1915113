"""A Chat Completions endpoint, in process, whose replies come from a plan function.

Used to record model cassettes for the shipped suites: the plan reads the conversation (task,
earlier tool results) and decides the next turn, and the real OpenAI client talks to it over
the real wire protocol through a ``RecordingTransport``. The HAR that results is what a model
with exactly that behaviour would have produced, so replay exercises the client, the planner,
the executor and the observations end to end. Token usage is counted with tiktoken over the
request and reply, as a server would report it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from agent.messages import Message, ModelTurn, ToolCall
from agent.tokens import count_tokens
from tools.model import JSONObject

Plan = Callable[[list[Message], list[JSONObject]], ModelTurn | Message]


def _message(raw: dict[str, Any]) -> Message:
    calls = [
        ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
        for c in raw.get("tool_calls") or []
    ]
    content = raw.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return Message(
        role=raw["role"],
        content=content,
        tool_calls=calls,
        tool_call_id=raw.get("tool_call_id"),
        name=raw.get("name"),
    )


def _reply(turn: ModelTurn, model: str, prompt_tokens: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.message.content}
    if turn.message.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.message.tool_calls
        ]
    completion = count_tokens(json.dumps(message))
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if turn.message.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        },
    }


class ChatCompletionsTransport(httpx2.AsyncBaseTransport):
    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        raw = await request.aread()
        if not request.url.path.endswith("/chat/completions"):
            return httpx2.Response(404, json={"error": {"message": "not found"}}, request=request)
        body = json.loads(raw)
        messages = [_message(m) for m in body.get("messages", [])]
        result = self.plan(messages, list(body.get("tools") or []))
        turn = result if isinstance(result, ModelTurn) else ModelTurn(message=result)
        payload = _reply(turn, str(body.get("model", "")), count_tokens(raw.decode()))
        return httpx2.Response(200, json=payload, request=request)
