"""A tiny real HTTP server on 127.0.0.1 speaking the Chat Completions wire protocol.

Tests queue scripted replies (JSON bodies, SSE streams, error statuses with headers) and read
back every request the client sent. It runs stdlib ``http.server`` in a thread so the client
under test goes through real sockets, real HTTP parsing and real SSE framing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-serialisable, sent as application/json
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[Any] | None = None  # chunks sent as `data: <json>` events, then [DONE]
    delay: float = 0.0  # seconds between SSE events (exercises incremental parsing)
    done: bool = True  # send the final `data: [DONE]`
    wait: float = 0.0  # seconds before answering at all (exercises client timeouts)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class ChatServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server._record(Seen("POST", self.path, headers, body, time.monotonic()))
                server._answer(self, server._next())

            do_GET = do_POST

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def _next(self) -> Reply:
        with self._lock:
            if not self.replies:
                return Reply(500, {"error": {"message": "chat_server: no reply queued"}})
            return self.replies.pop(0)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        time.sleep(reply.wait)
        if reply.sse is None:
            data = json.dumps(reply.body).encode()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        events = [f"data: {json.dumps(chunk)}\n\n" for chunk in reply.sse]
        if reply.done:
            events.append("data: [DONE]\n\n")
        for event in events:
            handler.wfile.write(event.encode())
            handler.wfile.flush()
            if reply.delay:
                time.sleep(reply.delay)
        handler.close_connection = True

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def completion(
    content: str | None = None,
    tool_calls: list[tuple[str, str, str]] | None = None,
    *,
    model: str = "test-model",
    usage: tuple[int, int] | None = (12, 5),
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A non-streaming chat.completion body; tool_calls as (id, name, arguments)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in tool_calls
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
    }
    if usage is not None:
        body["usage"] = _usage(*usage)
    return body


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage: tuple[int, int] | None = None,
    model: str = "test-model",
) -> dict[str, Any]:
    """One chat.completion.chunk; ``delta=None`` makes the final usage-only chunk."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = _usage(*usage)
    return body


def text_stream(*parts: str, usage: tuple[int, int] | None = (9, 3)) -> list[dict[str, Any]]:
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": p}) for p in parts]
    chunks.append(chunk({}, finish_reason="stop"))
    if usage is not None:
        chunks.append(chunk(None, usage=usage))
    return chunks


def call_delta(
    index: int, *, id: str | None = None, name: str | None = None, args: str | None = None
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index}
    if id is not None:
        call["id"] = id
        call["type"] = "function"
    function: dict[str, str] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    if function:
        call["function"] = function
    return {"tool_calls": [call]}


def serve() -> Iterator[ChatServer]:
    """Generator for a pytest fixture: a started server, stopped afterwards."""
    with ChatServer() as server:
        yield server
