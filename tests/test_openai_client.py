"""Wire tests of OpenAIClient against a real HTTP server on 127.0.0.1 (tests/chat_server.py)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from agent.errors import (
    MissingAPIKeyError,
    ModelAuthError,
    ModelConfigError,
    ModelError,
    ModelNotFoundError,
)
from agent.llm import ModelClient, is_loopback_url
from agent.messages import Message, ToolCall, Usage
from agent.openai_client import OpenAIClient
from tests.chat_server import (
    ChatServer,
    Reply,
    call_delta,
    chunk,
    completion,
    serve,
    text_stream,
)
from tools.model import JSONObject

KEY = "sk-test-secret-123"
TOOLS: list[JSONObject] = [
    {
        "type": "function",
        "function": {
            "name": "getPet",
            "description": "Find a pet by id",
            "parameters": {"type": "object", "properties": {"petId": {"type": "integer"}}},
        },
    }
]
USER = [Message(role="system", content="be brief"), Message(role="user", content="pet 7?")]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_API_VERSION",
        "OPENAI_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    yield from serve()


def client(server: ChatServer, **kwargs: object) -> OpenAIClient:
    options: dict[str, object] = {"api_key": KEY, "base_url": server.url, "max_retries": 2}
    options.update(kwargs)
    return OpenAIClient("test-model", **options)  # type: ignore[arg-type]


async def test_non_streaming_text_and_usage(server: ChatServer) -> None:
    server.queue(Reply(body=completion("Rex is a dog.", usage=(20, 6), model="test-model-0613")))
    async with client(server, stream=False) as llm:
        assert isinstance(llm, ModelClient)
        seen: list[str] = []
        turn = await llm.complete(USER, TOOLS, on_text=seen.append)
    assert turn.message.content == "Rex is a dog."
    assert turn.message.tool_calls == []
    assert turn.usage == Usage(prompt_tokens=20, completion_tokens=6)
    assert turn.finish_reason == "stop"
    assert turn.model == "test-model-0613"
    assert seen == ["Rex is a dog."]
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "test-model"
    assert request.body["tools"] == TOOLS
    assert request.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "pet 7?"},
    ]
    assert "stream" not in request.body or request.body["stream"] is False


async def test_non_streaming_tool_calls(server: ChatServer) -> None:
    calls = [("call_a", "getPet", '{"petId": 7}'), ("call_b", "getPet", '{"petId": 8}')]
    server.queue(Reply(body=completion(None, calls)))
    async with client(server, stream=False) as llm:
        turn = await llm.complete(USER, TOOLS)
    assert turn.finish_reason == "tool_calls"
    assert turn.message.content is None
    assert turn.message.tool_calls == [
        ToolCall(id="call_a", name="getPet", arguments='{"petId": 7}'),
        ToolCall(id="call_b", name="getPet", arguments='{"petId": 8}'),
    ]


async def test_conversation_with_tool_results_is_sent_in_the_wire_format(
    server: ChatServer,
) -> None:
    server.queue(Reply(body=completion("done")))
    call = ToolCall(id="call_a", name="getPet", arguments='{"petId": 7}')
    history = [
        *USER,
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", content='{"name":"Rex"}', tool_call_id="call_a", name="getPet"),
    ]
    async with client(server, stream=False, parallel_tool_calls=False, temperature=0.0) as llm:
        await llm.complete(history, TOOLS)
    body = server.requests[0].body
    assert body["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "getPet", "arguments": '{"petId": 7}'},
            }
        ],
    }
    assert body["messages"][3] == {
        "role": "tool",
        "content": '{"name":"Rex"}',
        "tool_call_id": "call_a",
    }
    assert body["parallel_tool_calls"] is False
    assert body["temperature"] == 0.0


async def test_no_tools_sends_no_tool_fields(server: ChatServer) -> None:
    server.queue(Reply(body=completion("hi")))
    async with client(server, stream=False, parallel_tool_calls=False, tool_choice="auto") as llm:
        await llm.complete(USER, [])
    body = server.requests[0].body
    assert "tools" not in body
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body


async def test_streaming_text_calls_on_text_per_delta_and_reads_final_usage(
    server: ChatServer,
) -> None:
    server.queue(Reply(sse=text_stream("Rex ", "is ", "a dog."), delay=0.01))
    seen: list[str] = []
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS, on_text=seen.append)
    assert seen == ["Rex ", "is ", "a dog."]
    assert turn.message.content == "Rex is a dog."
    assert turn.usage == Usage(prompt_tokens=9, completion_tokens=3)
    assert turn.finish_reason == "stop"
    body = server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_streaming_without_usage_gives_zero_usage(server: ChatServer) -> None:
    server.queue(Reply(sse=text_stream("ok", usage=None)))
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS)
    assert turn.message.content == "ok"
    assert turn.usage == Usage()


async def test_streaming_parallel_tool_calls_with_interleaved_deltas(server: ChatServer) -> None:
    sse = [
        chunk({"role": "assistant", "content": None}),
        chunk(call_delta(0, id="call_a", name="getPet", args="")),
        chunk(call_delta(1, id="call_b", name="listPets", args="")),
        chunk(call_delta(0, args='{"pet')),
        chunk(call_delta(1, args='{"limit"')),
        chunk(call_delta(0, args='Id": 7}')),
        chunk(call_delta(1, args=": 2}")),
        chunk({}, finish_reason="tool_calls"),
        chunk(None, usage=(40, 22)),
    ]
    server.queue(Reply(sse=sse, delay=0.005))
    seen: list[str] = []
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS, on_text=seen.append)
    assert seen == []
    assert turn.message.content is None
    assert turn.message.tool_calls == [
        ToolCall(id="call_a", name="getPet", arguments='{"petId": 7}'),
        ToolCall(id="call_b", name="listPets", arguments='{"limit": 2}'),
    ]
    assert [json.loads(c.arguments) for c in turn.message.tool_calls] == [
        {"petId": 7},
        {"limit": 2},
    ]
    assert turn.finish_reason == "tool_calls"
    assert turn.usage.total_tokens == 62


async def test_streamed_call_without_id_gets_one_and_repeated_names_are_not_doubled(
    server: ChatServer,
) -> None:
    sse = [
        chunk(call_delta(0, name="getPet", args='{"petId":')),
        chunk(call_delta(0, name="getPet", args=" 7}")),
        chunk({}, finish_reason="tool_calls"),
    ]
    server.queue(Reply(sse=sse))
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS)
    [call] = turn.message.tool_calls
    assert call.name == "getPet"
    assert call.arguments == '{"petId": 7}'
    assert call.id.startswith("call_")


async def test_server_rejecting_stream_options_is_asked_again_without_them(
    server: ChatServer,
) -> None:
    rejected = {"error": {"message": "Unrecognized request argument supplied: stream_options"}}
    server.queue(Reply(400, rejected), Reply(sse=text_stream("ok", usage=None)))
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS)
        assert turn.message.content == "ok"
        server.queue(Reply(sse=text_stream("again", usage=None)))
        await llm.complete(USER, TOOLS)
    assert [("stream_options" in r.body) for r in server.requests] == [True, False, False]


async def test_429_with_retry_after_is_retried_after_the_wait(server: ChatServer) -> None:
    limited = {"error": {"message": "Rate limit reached", "type": "requests"}}
    server.queue(
        Reply(429, limited, headers={"Retry-After": "1"}),
        Reply(body=completion("after the wait")),
    )
    async with client(server, stream=False) as llm:
        turn = await llm.complete(USER, TOOLS)
    assert turn.message.content == "after the wait"
    first, second = server.requests
    # Retry-After: 1 is honoured (the SDK's own first backoff would be under 0.5 s).
    assert second.at - first.at >= 0.95


async def test_500_is_retried_then_reported_as_model_error(server: ChatServer) -> None:
    boom = {"error": {"message": "upstream exploded"}}
    fast = {"Retry-After-Ms": "20"}
    server.queue(*[Reply(500, boom, headers=fast) for _ in range(3)])
    async with client(server, max_retries=2) as llm:
        with pytest.raises(ModelError, match="HTTP 500: upstream exploded") as caught:
            await llm.complete(USER, TOOLS)
    assert caught.value.status == 500
    assert len(server.requests) == 3  # first try + max_retries


async def test_503_then_success_is_invisible_to_the_caller(server: ChatServer) -> None:
    server.queue(
        Reply(503, {"error": {"message": "busy"}}, headers={"Retry-After-Ms": "20"}),
        Reply(sse=text_stream("fine")),
    )
    async with client(server) as llm:
        turn = await llm.complete(USER, TOOLS)
    assert turn.message.content == "fine"
    assert len(server.requests) == 2


async def test_unknown_model_is_model_not_found(server: ChatServer) -> None:
    missing = {"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}
    server.queue(Reply(404, missing))
    async with client(server) as llm:
        with pytest.raises(ModelNotFoundError, match="does not exist") as caught:
            await llm.complete(USER, TOOLS)
    assert "test-model" in str(caught.value)
    assert len(server.requests) == 1  # a 404 is not retried


async def test_bad_key_is_a_clear_auth_error_without_the_key(server: ChatServer) -> None:
    refused = {"error": {"message": f"Incorrect API key provided: {KEY}"}}
    server.queue(Reply(401, refused))
    async with client(server) as llm:
        with pytest.raises(ModelAuthError, match="OPENAI_API_KEY") as caught:
            await llm.complete(USER, TOOLS)
    assert KEY not in str(caught.value)
    assert "[redacted]" in str(caught.value)


async def test_a_bad_request_is_not_retried(server: ChatServer) -> None:
    server.queue(Reply(400, {"error": {"message": "context length exceeded"}}))
    async with client(server) as llm:
        with pytest.raises(ModelError, match="HTTP 400: context length exceeded"):
            await llm.complete(USER, TOOLS)
    assert len(server.requests) == 1


async def test_unreachable_server_is_a_model_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    llm = OpenAIClient("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"could not reach model 'm'.*is the server running"):
        await llm.complete(USER, TOOLS)
    assert time.monotonic() - started < 5
    await llm.aclose()


async def test_compatible_server_needs_no_key(server: ChatServer) -> None:
    server.queue(Reply(body=completion("local")))
    llm = OpenAIClient("local-model", base_url=server.url, stream=False)
    turn = await llm.complete(USER, [])
    await llm.aclose()
    assert turn.message.content == "local"
    assert server.requests[0].headers["authorization"].startswith("Bearer ")


async def test_openai_base_url_from_the_environment(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.queue(Reply(body=completion("from env")))
    async with OpenAIClient("test-model", stream=False) as llm:
        assert llm.base_url == server.url
        turn = await llm.complete(USER, [])
    assert turn.message.content == "from env"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_missing_key_for_openai_names_the_variable() -> None:
    with pytest.raises(MissingAPIKeyError, match="set OPENAI_API_KEY") as caught:
        OpenAIClient("gpt-4o-mini")
    assert caught.value.variable == "OPENAI_API_KEY"


def test_azure_without_key_names_azure_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(MissingAPIKeyError, match="AZURE_OPENAI_API_KEY"):
        OpenAIClient("my-deployment")


def test_azure_without_api_version_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    with pytest.raises(ModelConfigError, match="OPENAI_API_VERSION"):
        OpenAIClient("my-deployment")


async def test_azure_requests_go_to_the_deployment_path(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    server.queue(Reply(body=completion("from azure")))
    endpoint = server.url.removesuffix("/v1")
    async with OpenAIClient("my-deployment", azure_endpoint=endpoint, stream=False) as llm:
        turn = await llm.complete(USER, [])
    assert turn.message.content == "from azure"
    [request] = server.requests
    assert (
        request.path == "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
    )
    assert request.headers["api-key"] == "azure-key"


def test_remote_models_are_refused_when_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_BLOCK_REMOTE_MODELS", "1")
    with pytest.raises(ModelConfigError, match="remote model requests are blocked"):
        OpenAIClient("gpt-4o-mini", api_key=KEY)
    with pytest.raises(ModelConfigError, match="blocked"):
        OpenAIClient("m", base_url="https://llm.example.com/v1")
    OpenAIClient("m", base_url="http://127.0.0.1:1/v1")  # loopback stays allowed


def test_loopback_urls() -> None:
    assert is_loopback_url("http://127.0.0.1:8080/v1")
    assert is_loopback_url("http://localhost/v1")
    assert is_loopback_url("http://[::1]:1/v1")
    assert not is_loopback_url("https://api.openai.com/v1")
    assert not is_loopback_url("http://10.0.0.1/v1")


async def test_tool_results_can_be_sent_as_user_messages(server: ChatServer) -> None:
    server.queue(Reply(body=completion("ok")))
    call = ToolCall(id="call_a", name="getPet", arguments="{}")
    history = [
        *USER,
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", content='{"name":"Rex"}', tool_call_id="call_a", name="getPet"),
    ]
    async with client(server, stream=False, tool_messages="as_user") as llm:
        await llm.complete(history, TOOLS)
    assert server.requests[0].body["messages"][3] == {
        "role": "user",
        "content": 'functions.getPet result (call call_a):\n{"name":"Rex"}',
    }


async def test_the_only_served_model_is_used_when_none_is_named(server: ChatServer) -> None:
    models = {"object": "list", "data": [{"id": "qwen2.5", "object": "model", "created": 0}]}
    server.queue(Reply(body=models), Reply(body=completion("hi")))
    async with OpenAIClient("", base_url=server.url, stream=False) as llm:
        await llm.complete(USER, [])
        assert llm.model == "qwen2.5"
    assert server.requests[0].path == "/v1/models"
    assert server.requests[1].body["model"] == "qwen2.5"


async def test_several_served_models_need_a_choice(server: ChatServer) -> None:
    models = {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 0} for n in ("b", "a")],
    }
    server.queue(Reply(body=models))
    async with OpenAIClient("", base_url=server.url) as llm:
        with pytest.raises(ModelConfigError, match=r"serves 2 models \(a, b\); choose one"):
            await llm.complete(USER, [])


def test_the_test_suite_blocks_remote_models_without_being_asked() -> None:
    # tests/conftest.py sets BATON_BLOCK_REMOTE_MODELS=1 for every test.
    with pytest.raises(ModelConfigError, match="blocked"):
        OpenAIClient("gpt-4o-mini", api_key=KEY)


async def test_a_server_slower_than_the_timeout_is_a_model_error(server: ChatServer) -> None:
    server.queue(Reply(body=completion("too late"), wait=1.0))
    async with client(server, timeout=0.3, max_retries=0, stream=False) as llm:
        with pytest.raises(ModelError, match="timed out"):
            await llm.complete(USER, [])


async def test_rate_limit_that_outlasts_the_retries_is_a_model_error(server: ChatServer) -> None:
    limited = {"error": {"message": "Rate limit reached"}}
    server.queue(*[Reply(429, limited, headers={"Retry-After-Ms": "20"}) for _ in range(2)])
    async with client(server, max_retries=1) as llm:
        with pytest.raises(ModelError, match="HTTP 429: Rate limit reached") as caught:
            await llm.complete(USER, TOOLS)
    assert caught.value.status == 429
    assert len(server.requests) == 2


async def test_a_retry_after_beyond_two_minutes_is_not_waited_for(server: ChatServer) -> None:
    limited = {"error": {"message": "quota exhausted for the day"}}
    server.queue(Reply(429, limited, headers={"Retry-After": "3600"}))
    async with client(server) as llm:
        started = time.monotonic()
        with pytest.raises(ModelError, match="HTTP 429"):
            await llm.complete(USER, TOOLS)
    assert time.monotonic() - started < 5
    assert len(server.requests) == 1
