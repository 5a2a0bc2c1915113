"""``baton call``: JSON out, dry runs that send nothing, exit codes and one-line errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from agent.cli import main

SECRET = "cli-secret-key-4242"
SPEC = """
openapi: 3.0.3
info: {title: pets, version: "1"}
servers: [{url: "https://pets.example.com/v1"}]
components:
  securitySchemes:
    api_key: {type: apiKey, in: header, name: X-Api-Key}
security: [{api_key: []}]
paths:
  /pets/{petId}:
    get:
      operationId: getPet
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema:
                type: object
                properties: {id: {type: integer}, name: {type: string}}
    delete:
      operationId: deletePet
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses: {"204": {description: gone}}
  /pets:
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties: {name: {type: string}}
      responses: {"201": {description: created}}
"""


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def _answer(self, status: int, body: bytes = b"") -> None:
        _Handler.seen.append((self.command, self.path, self.headers.get("X-Api-Key")))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        pet = self.path.rsplit("/", 1)[-1]
        if pet == "302":  # a spec server redirecting to the cloud metadata address
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if pet == "999":  # a server that takes far too long to answer
            time.sleep(3)
        if pet == "404":
            self._answer(404, b'{"message": "no such pet"}')
            return
        key = self.headers.get("X-Api-Key", "")
        self._answer(200, json.dumps({"id": int(pet), "name": "Rex", "echo": key}).encode())

    def do_DELETE(self) -> None:
        self._answer(204)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BATON_AUTH_API_KEY", SECRET)
    path = tmp_path / "pets.yaml"
    path.write_text(SPEC)
    return str(path)


def test_call_prints_the_result_as_json(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["call", spec, "getPet", "--args", '{"petId": 7}', "--server", server])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    assert set(result) >= {"status", "headers", "body", "attempts", "elapsed_ms"}
    assert result["status"] == 200
    assert result["body"]["id"] == 7
    assert result["attempts"][0]["status"] == 200
    assert SECRET not in out.out
    assert _Handler.seen == [("GET", "/pets/7", SECRET)]


def test_error_status_is_printed_and_exits_1(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["call", spec, "getPet", "--args", '{"petId": 404}', "--server", server])
    out = capsys.readouterr()
    assert code == 1
    assert json.loads(out.out)["status"] == 404


def test_dry_run_prints_the_request_and_sends_nothing(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["call", spec, "createPet", "--args", '{"body": {"name": "Rex"}}', "--dry-run"]
    code = main([*args, "--server", server])
    out = capsys.readouterr()
    assert code == 0, out.err
    request = json.loads(out.out)
    assert request["method"] == "POST"
    assert request["url"] == f"{server}/pets"
    assert request["body"] == {"name": "Rex"}
    assert "x-api-key" in {k.lower() for k in request["headers"]}
    assert SECRET not in out.out
    assert _Handler.seen == []


def test_side_effect_without_yes_is_refused(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["call", spec, "deletePet", "--args", '{"petId": 1}', "--server", server])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: deletePet changes data and was denied")
    assert "--yes" in err
    assert err.count("\n") == 1
    assert _Handler.seen == []


def test_side_effect_with_yes_runs(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["call", spec, "deletePet", "--args", '{"petId": 1}', "--server", server, "--yes"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 204
    assert _Handler.seen == [("DELETE", "/pets/1", SECRET)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{petId: 7}", "error: --args is not valid JSON: Expecting property name"),
        ("[7]", "error: --args must be a JSON object of arguments, got list"),
        ('{"petId": "seven"}', "error: invalid arguments for getPet: /petId: expected integer"),
        ('{"petId": 7, "colour": "red"}', "error: invalid arguments for getPet: /colour: unknown"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    spec: str, server: str, capsys: pytest.CaptureFixture[str], args: str, message: str
) -> None:
    code = main(["call", spec, "getPet", "--args", args, "--server", server])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert _Handler.seen == []


def test_unknown_tool_exits_2(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", spec, "getPets"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown tool 'getPets'; did you mean getPet")


def test_missing_credentials_name_the_variable(
    spec: str, server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATON_AUTH_API_KEY")
    code = main(["call", spec, "getPet", "--args", '{"petId": 7}', "--server", server])
    err = capsys.readouterr().err
    assert code == 2
    assert "BATON_AUTH_API_KEY" in err


def test_args_can_come_from_a_file(
    spec: str, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "args.json").write_text('{"petId": 3}')
    code = main(
        ["call", spec, "getPet", "--args", f"@{tmp_path / 'args.json'}", "--server", server]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["body"]["id"] == 3


def test_spec_server_without_override_is_refused_for_foreign_redirects_only(
    spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No --server: the spec's host is used; a dry run shows it without sending anything.
    assert main(["call", spec, "getPet", "--args", '{"petId": 1}', "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["url"] == "https://pets.example.com/v1/pets/1"


def test_refused_host_exits_2_saying_how_to_allow_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BATON_AUTH_API_KEY", SECRET)
    path = tmp_path / "local.yaml"
    path.write_text(SPEC.replace("https://pets.example.com/v1", "http://localhost:8080"))
    code = main(["call", str(path), "getPet", "--args", '{"petId": 1}'])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: host 'localhost' is not allowed: loopback address")
    assert "--server" in err


def test_unreachable_server_exits_1(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.servers import free_port

    server = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code = main(["call", spec, "getPet", "--args", '{"petId": 1}', "--server", server])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed after 4 attempt(s): connect error" in err
    assert err.count("\n") == 1


def test_refused_redirect_is_a_failed_call_not_bad_input(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA Q2/Q14: a refused spec server is bad input (exit 2, test above); a refused redirect is
    # the API's doing, so the call failed (exit 1), as in baton run.
    code = main(["call", spec, "getPet", "--args", '{"petId": 302}', "--server", server])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: GET {server}/pets/302: redirect refused: host '169.254.169.254'")
    assert err.count("\n") == 1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_args_with_non_json_numbers_exit_2(
    spec: str, constant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA Q6: Python's json reads NaN; the body went out as `{"name": NaN}`, which is not JSON.
    args = f'{{"body": {{"name": "x", "extra": {constant}}}}}'
    code = main(["call", spec, "createPet", "--args", args, "--dry-run"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --args is not valid JSON: {constant} is not a JSON value\n"
    )


def test_timeout_is_one_deadline_for_the_whole_call(
    spec: str, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # QA Q1: a hanging server cost 4 attempts x 30 s; --timeout bounds retries and waits too.
    started = time.monotonic()
    argv = ["call", spec, "getPet", "--args", '{"petId": 999}', "--server", server]
    code = main([*argv, "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert time.monotonic() - started < 2.5
    assert code == 1
    assert "gave up at the 0.5s total timeout" in err
    assert main([*argv, "--timeout", "0"]) == 2
    assert capsys.readouterr().err == (
        "error: --timeout must be a positive number of seconds, got 0\n"
    )
