"""Specs written or served by someone hostile: local-file refs, redirects, drips, bombs, devices."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tools.errors import SpecError
from tools.ingest import ingest_spec
from tools.loader_fetch import hop_refusal

Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Route]] = {}

    def do_GET(self) -> None:
        route = self.routes.get(self.path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                route(self)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, Route]]]:
    routes: dict[str, Route] = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"routes": routes}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()


def body(data: bytes) -> Route:
    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return send


def redirect(location: str) -> Route:
    def send(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return send


def drip(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "1000000")
    h.end_headers()
    for _ in range(60):  # one byte every 0.1 s: each read is quick, the whole never ends
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.1)


def api(schema: dict[str, Any]) -> dict[str, Any]:
    param = {"name": "q", "in": "query", "schema": schema}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/x": {"get": {"operationId": "getX", "parameters": [param], "responses": {}}},
            "/y": {"get": {"operationId": "getY", "responses": {}}},
        },
    }


# -- Q11: a remote spec must not read local files ------------------------------------------


@pytest.mark.parametrize("allow_remote_refs", [False, True])
def test_remote_spec_cannot_reference_local_files(
    served: Any, tmp_path: Path, allow_remote_refs: bool
) -> None:
    base, routes = served
    secret = tmp_path / "secret.yaml"
    secret.write_text("description: TOPSECRET-local-file-content\ntype: string\n")
    for name, ref in (("file", secret.as_uri()), ("bare", "file:" + str(secret))):
        routes[f"/{name}.json"] = body(json.dumps(api({"$ref": ref})).encode())
        catalog = ingest_spec(f"{base}/{name}.json", allow_remote_refs=allow_remote_refs)
        assert "TOPSECRET" not in json.dumps(catalog.to_json())
        assert any("local file from a remote spec is refused" in w for w in catalog.warnings)


def test_local_spec_may_still_reference_local_files(tmp_path: Path) -> None:
    (tmp_path / "part.yaml").write_text("description: from-part\ntype: string\n")
    main = tmp_path / "api.json"
    main.write_text(json.dumps(api({"$ref": (tmp_path / "part.yaml").as_uri()})))
    assert "from-part" in json.dumps(ingest_spec(main).to_json())


# -- Q23: YAML alias bombs ------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"x-{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "openapi: 3.0.3\ninfo: {title: bomb, version: '1'}\n" + "\n".join(lines)
    text += "\npaths:\n  /x:\n    get:\n      x-bomb: *i\n      responses: {}\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(SpecError, match=r"bomb\.yaml: YAML aliases expand beyond \d+ nodes"):
        ingest_spec(path)
    assert time.perf_counter() - started < 5


def test_modest_yaml_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /x:\n    get:\n      operationId: a\n      parameters:\n"
        "        - &p {name: q, in: query, schema: {type: string, enum: [u, v]}}\n"
        "      responses: {}\n"
        "  /y:\n    get:\n      operationId: b\n      parameters: [*p]\n      responses: {}\n"
    )
    catalog = ingest_spec(path)
    assert catalog.get("b").parameters["properties"]["q"]["enum"] == ["u", "v"]


# -- Q24: devices and FIFOs -----------------------------------------------------------------


def test_device_as_spec_is_capped_not_read_forever() -> None:
    with pytest.raises(SpecError, match="larger than 1000 bytes"):
        ingest_spec("/dev/zero", max_bytes=1000)


def test_ref_to_a_device_or_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # nobody writes: reading it would block forever
    for target in ("/dev/zero", str(fifo)):
        path = tmp_path / "api.json"
        path.write_text(json.dumps(api({"$ref": target})))
        catalog = ingest_spec(path)
        assert any("not a regular file" in w for w in catalog.warnings), catalog.warnings


# -- Q13/Q16: redirects and link-local targets ----------------------------------------------


def test_redirect_to_link_local_is_refused(served: Any) -> None:
    base, routes = served
    routes["/meta"] = redirect("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(SpecError, match=r"redirect to 169\.254\.169\.254 refused \(link-local"):
        ingest_spec(base + "/meta")
    with pytest.raises(SpecError, match=r"fetching 169\.254\.169\.254 refused \(link-local"):
        ingest_spec("http://169.254.169.254/spec.yaml")


def test_redirects_within_the_origin_network_are_followed_and_bounded(served: Any) -> None:
    base, routes = served
    routes["/api.json"] = body(json.dumps(api({"type": "string"})).encode())
    routes["/old"] = redirect("/api.json")
    assert "getX" in ingest_spec(base + "/old").names()
    routes["/loop"] = redirect("/loop")
    with pytest.raises(SpecError, match="more than 5 redirects"):
        ingest_spec(base + "/loop")
    routes["/ftp"] = redirect("ftp://127.0.0.1/x")
    with pytest.raises(SpecError, match="only http and https"):
        ingest_spec(base + "/ftp")


@pytest.mark.parametrize(
    ("url", "origin_public", "refused"),
    [
        ("http://127.0.0.1/x", True, "loopback address, reached from a public URL"),
        ("http://10.0.0.1/x", True, "private address, reached from a public URL"),
        ("http://localhost:8080/x", True, "loopback"),
        ("http://10.0.0.1/x", False, None),
        ("http://[::ffff:169.254.169.254]/x", False, "link-local"),
        ("http://0xa9fea9fe/x", False, "link-local"),
        ("http://93.184.216.34/x", True, None),
    ],
)
def test_hop_refusal_follows_the_executor_address_rule(
    url: str, origin_public: bool, refused: str | None
) -> None:
    reason = hop_refusal(url, origin_public=origin_public)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None
        assert refused in reason


# -- Q12: one deadline for the whole fetch --------------------------------------------------


def test_dripping_server_times_out_on_the_overall_deadline(served: Any) -> None:
    base, routes = served
    routes["/drip"] = drip
    started = time.perf_counter()
    with pytest.raises(SpecError, match=r"/drip: fetching the spec timed out after 1s"):
        ingest_spec(base + "/drip", fetch_timeout=1.0)
    assert time.perf_counter() - started < 3
