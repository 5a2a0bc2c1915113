"""The demo API Baton ships: a small, real, stateful "team tasks" HTTP API on 127.0.0.1.

Owns the HTTP side only (routing, JSON in and out, the optional API key); the state and its
rules live in ``agent.demo_store``. ``specs/demo.yaml`` is its OpenAPI 3.1 description and the
tests hold the two together. Standard library only (``ThreadingHTTPServer`` in a daemon
thread), so ``baton demo`` needs nothing beyond Baton's own dependencies.

Security: started with an API key, every request except ``GET /health`` must send it in the
``X-API-Key`` header (401 otherwise); started without one, the API is open. Baton reads the key
from ``BATON_AUTH_API_KEY`` (the spec's scheme is named ``api_key``).

Run it standalone: ``python -m agent.demo_api --port 8765 [--api-key KEY]``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent.demo_store import DemoError, DemoStore

DEFAULT_PORT = 8765
API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "BATON_DEMO_API_KEY"  # the server's key when started standalone
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class _Request:
    params: dict[str, str]  # path parameters
    query: dict[str, list[str]]
    body: Any  # parsed JSON, or None


Handler = Callable[[DemoStore, _Request], tuple[int, Any]]

_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def _route(method: str, template: str) -> Callable[[Handler], Handler]:
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

    def register(fn: Handler) -> Handler:
        _ROUTES.append((method, pattern, fn))
        return fn

    return register


def _task_id(params: dict[str, str]) -> int:
    raw = params["task_id"]
    if not raw.isdigit():
        raise DemoError(422, "invalid", f"task_id: must be an integer, got {raw!r}")
    return int(raw)


@_route("GET", "/health")
def _health(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, {"status": "ok", "tasks": len(store.tasks)}


@_route("GET", "/projects")
def _projects(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.list_projects()


@_route("GET", "/projects/{project_id}")
def _project(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.get_project(r.params["project_id"])


@_route("GET", "/members")
def _members(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.list_members()


@_route("GET", "/tasks")
def _list_tasks(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.list_tasks(r.query)


@_route("POST", "/tasks")
def _create_task(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 201, store.create_task(r.body)


@_route("GET", "/tasks/{task_id}")
def _get_task(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.get_task(_task_id(r.params))


@_route("PATCH", "/tasks/{task_id}")
def _update_task(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.update_task(_task_id(r.params), r.body)


@_route("DELETE", "/tasks/{task_id}")
def _delete_task(store: DemoStore, r: _Request) -> tuple[int, Any]:
    store.delete_task(_task_id(r.params))
    return 204, None


@_route("GET", "/tasks/{task_id}/comments")
def _comments(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 200, store.list_comments(_task_id(r.params))


@_route("POST", "/tasks/{task_id}/comments")
def _add_comment(store: DemoStore, r: _Request) -> tuple[int, Any]:
    return 201, store.add_comment(_task_id(r.params), r.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    store: DemoStore
    api_key: str | None


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "BatonDemo/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a kept-alive client waits for a
    # delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: the shell draws over the same terminal.
        return

    def _handle(self, method: str) -> None:
        try:
            # Read the whole body before anything can fail: on a kept-alive connection an
            # unread body would be parsed as the next request.
            raw = self._read_raw()
            status, payload = self._dispatch(method, raw)
        except DemoError as exc:
            status, payload = exc.status, exc.to_json()
        self._send(status, payload)

    def _dispatch(self, method: str, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        allowed: list[str] = []
        for route_method, pattern, handler in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            if path != "/health":
                self._authorize()
            body = self._parse_body(raw) if method in ("POST", "PATCH", "PUT") else None
            return handler(self.server.store, _Request(match.groupdict(), query, body))
        if allowed:
            raise DemoError(405, "method_not_allowed", f"{method} {path}: use {', '.join(allowed)}")
        raise DemoError(404, "not_found", f"no route for {method} {path}")

    def _authorize(self) -> None:
        expected = self.server.api_key
        if expected is None:
            return
        given = self.headers.get(API_KEY_HEADER)
        if given is None:
            raise DemoError(401, "unauthorized", f"missing API key: send it in {API_KEY_HEADER}")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise DemoError(401, "unauthorized", "invalid API key")

    def _read_raw(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True  # the body is not read, so the stream is unusable
            raise DemoError(413, "too_large", f"request body over {MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    def _parse_body(self, raw: bytes) -> Any:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise DemoError(415, "unsupported_media_type", "send the body as application/json")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DemoError(400, "bad_json", f"request body is not valid JSON: {exc}") from None

    def _send(self, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", f'ApiKey header="{API_KEY_HEADER}"')
        self.end_headers()
        self.wfile.write(data)


class DemoServer:
    """The demo API on 127.0.0.1 in a background thread; a context manager.

    ``port=0`` picks a free port; ``base_url`` tells which. Each server has its own fresh,
    seeded state.
    """

    def __init__(self, port: int = 0, *, api_key: str | None = None, host: str = "127.0.0.1"):
        self._httpd = _Server((host, port), _RequestHandler)
        self._httpd.store = DemoStore.seeded()
        self._httpd.api_key = api_key
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._started = False

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def store(self) -> DemoStore:
        return self._httpd.store

    def start(self) -> DemoServer:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the standalone command)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        if self._started:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._started = False
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_demo_api(port: int = 0, *, api_key: str | None = None) -> Iterator[str]:
    """``with running_demo_api() as base_url: ...``."""
    with DemoServer(port, api_key=api_key) as server:
        yield server.base_url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.demo_api", description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"require this key (or ${API_KEY_ENV})",
    )
    args = parser.parse_args(argv)
    try:
        server = DemoServer(args.port, api_key=args.api_key)
    except OSError as exc:
        sys.stderr.write(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}\n")
        return 2
    auth = "X-API-Key required" if args.api_key else "open, no API key"
    print(f"demo API on {server.base_url} ({auth}); Ctrl-C stops it", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
