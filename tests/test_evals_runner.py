"""The eval runner end to end: the shipped suite replays offline, and the failure paths."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.demo_api import DemoServer
from agent.testing import FunctionModel, text, tool_call
from evals.case import Case, CaseError, load_suite, load_targets
from evals.demo_plans import plan_for
from evals.faults import Fault, FaultMatch
from evals.restbench import import_restbench
from evals.runner import RunOptions, run_case, run_cases
from evals.scoring import SuiteScore
from evals.scripted_chat import ChatCompletionsTransport
from tests.conftest import ROOT, corpus_path

SUITE = ROOT / "evals" / "suites" / "demo"


def _case(name: str) -> Case:
    return next(c for c in load_suite(SUITE) if c.name == name)


async def test_shipped_suite_passes_offline_and_concurrently() -> None:
    cases = load_suite(SUITE)
    assert len(cases) >= 5
    scores = await run_cases(cases, RunOptions(concurrency=3))
    failed = {s.name: s.reasons for s in scores if not s.passed}
    assert failed == {}
    for score in scores:
        assert score.off_script == []
        assert score.unplayed == []
    retried = next(s for s in scores if s.name == "project-counts-after-429")
    assert retried.faults_injected == ["status GET /projects"]


async def test_a_diverging_model_is_caught_off_script() -> None:
    case = _case("bug-summary")
    other = _case("fix-invalid-status")
    mixed = case.model_copy(update={"model": other.model})
    score = await run_case(mixed)
    assert not score.passed
    assert any("off-script" in r for r in score.reasons)


async def test_timeouts_injected_into_replay_are_survived_by_retries() -> None:
    case = _case("missing-task-404")
    fault = Fault(match=FaultMatch(method="GET", path="/tasks/*"), kind="timeout", times=2)
    score = await run_case(case.model_copy(update={"faults": [fault]}))
    assert score.passed, score.reasons
    assert len(score.faults_injected) == 2


async def test_malformed_body_is_an_observation_not_a_crash() -> None:
    case = _case("project-counts-after-429")
    fault = Fault(match=FaultMatch(path="/projects"), kind="malformed", times=5)
    score = await run_case(case.model_copy(update={"faults": [fault]}))
    # The recorded plan expects a JSON body; it did not get one, so the case fails, cleanly.
    assert not score.passed
    assert score.calls == ["listProjects"]


async def test_recording_scrubs_credentials(tmp_path: Path) -> None:
    key = "demo-key-7f3a9c1e55"
    case = _case("bug-summary").model_copy(
        update={
            "cassette": tmp_path / "api.har",
            "model": _case("bug-summary").model.model_copy(
                update={"cassette": tmp_path / "model.har"}
            ),
            "credentials": {"BATON_AUTH_API_KEY": key},
        }
    )
    with DemoServer(api_key=key) as server:
        options = RunOptions(
            record=True,
            server=server.base_url,
            model_transport=ChatCompletionsTransport(plan_for("bug-summary")),
        )
        score = await run_case(case, options)
    assert score.passed, score.reasons
    for har in (tmp_path / "api.har", tmp_path / "model.har"):
        assert key not in har.read_text()
    # The scrubbed cassette still replays (the key is presented again and matched by path).
    replayed = await run_case(case)
    assert replayed.passed, replayed.reasons


def test_restbench_import_maps_gold_paths(tmp_path: Path) -> None:
    dataset = corpus_path("restbench", "tmdb.dev-queries.json")
    spec = corpus_path("restbench", "tmdb_oas.json")
    written = import_restbench(dataset, spec, tmp_path)
    queries = json.loads(dataset.read_text())
    assert len(written) == len(queries)
    cases = load_targets([tmp_path])
    assert cases[0].model.mode == "live"
    assert len(cases[0].expect.path) == len(queries[0]["solution"])


async def test_imported_case_runs_live_with_path_scoring(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "demo.yaml"
    dataset = tmp_path / "ds.json"
    dataset.write_text(json.dumps([{"query": "list projects", "solution": ["GET /projects"]}]))
    import_restbench(dataset, spec, tmp_path / "suite")
    (case,) = load_targets([tmp_path / "suite"])
    case = case.model_copy(update={"server": "http://127.0.0.1:8765"})
    turns = iter([tool_call("listProjects", {}), text("done")])
    model = FunctionModel(lambda messages, tools: next(turns))
    score = await run_case(case, RunOptions(model_factory=lambda _c: model))
    assert score.passed, score.reasons
    assert score.calls == ["listProjects"]


def test_restbench_step_missing_from_the_spec_is_a_clear_error(tmp_path: Path) -> None:
    dataset = tmp_path / "ds.json"
    dataset.write_text(json.dumps([{"query": "q", "solution": ["GET /nope"]}]))
    with pytest.raises(CaseError, match=r"ds.json#/0/solution/0: 'GET /nope'"):
        import_restbench(dataset, ROOT / "specs" / "demo.yaml", tmp_path / "out")


def test_cli_reports_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    case_file = SUITE / "cases" / "missing-task-404.yaml"
    code = main(["eval", str(case_file), "--report", str(report), "--junit", str(junit)])
    assert code == 0
    suite = SuiteScore.model_validate_json(report.read_text())
    assert suite.success_rate == 1.0
    assert "<testsuite" in junit.read_text()
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"mean_extra_calls": -1}))
    assert main(["eval", str(case_file), "--baseline", str(baseline)]) == 1


def test_cli_bad_case_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: t\nspecs: [x.yaml]\nexpect: {path: 3}\n")
    assert main(["eval", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ")
    assert "bad.yaml#/expect/path" in err[0]


async def test_live_model_traffic_is_recorded_and_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record against a real Chat Completions server on 127.0.0.1, then replay with no server."""
    from tests.chat_server import ChatServer, Reply, completion

    key = "sk-test-0a1b2c3d4e5f"
    base = _case("missing-task-404")
    case = base.model_copy(
        update={
            "cassette": tmp_path / "api.har",
            "model": base.model.model_copy(update={"cassette": tmp_path / "model.har"}),
        }
    )
    with ChatServer() as chat, DemoServer() as api:
        chat.queue(
            Reply(body=completion(tool_calls=[("c1", "listComments", '{"task_id": 999}')])),
            Reply(body=completion("Task 999 does not exist.")),
        )
        monkeypatch.setenv("OPENAI_BASE_URL", chat.url)
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("BATON_MODEL", "test-model")
        recorded = await run_case(case, RunOptions(record=True, server=api.base_url))
    assert recorded.passed, recorded.reasons
    assert key not in (tmp_path / "model.har").read_text()
    monkeypatch.delenv("OPENAI_BASE_URL")
    replayed = await run_case(case)
    assert replayed.passed, replayed.reasons
    assert replayed.off_script == []


ECHO_SPEC = """
openapi: 3.0.3
info: {title: echo, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
components:
  securitySchemes:
    qkey: {type: apiKey, in: query, name: api_key}
security: [{qkey: []}]
paths:
  /echo:
    get:
      operationId: echo
      responses:
        "200": {description: the request as seen}
"""


async def test_recording_scrubs_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case without `credentials` still uses BATON_AUTH_*: those never reach the HAR."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from agent.messages import Message, ModelTurn
    from agent.messages import ToolCall as Call

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"path": self.path, "auth": self.headers.get("x-k")}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("x-echo", self.path)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    secret = "sekrit-env-key-8e1f"
    monkeypatch.setenv("BATON_AUTH_QKEY", secret)
    spec = tmp_path / "echo.yaml"
    spec.write_text(ECHO_SPEC)
    case = Case(
        name="echo",
        task="echo",
        specs=[spec],
        cassette=tmp_path / "api.har",
        model={"mode": "replay", "cassette": tmp_path / "model.har"},
        expect={"path": ["echo"]},
    )

    def plan(messages: list[Message], _tools: object) -> ModelTurn:
        if any(m.role == "tool" for m in messages):
            return ModelTurn(message=Message(role="assistant", content="done"))
        call = Call(id="c1", name="echo", arguments="{}")
        return ModelTurn(message=Message(role="assistant", tool_calls=[call]))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        options = RunOptions(
            record=True,
            server=f"http://127.0.0.1:{server.server_port}",
            model_transport=ChatCompletionsTransport(plan),
        )
        score = await run_case(case, options)
    finally:
        server.shutdown()
        server.server_close()
    assert score.passed, score.reasons
    for har in (tmp_path / "api.har", tmp_path / "model.har"):
        assert secret not in har.read_text()


def test_invalid_yaml_case_is_one_line_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: t\nspecs: [a.yaml\n")
    assert main(["eval", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "bad.yaml: invalid YAML at line 3, column 1" in err[0]


def test_bad_report_paths_and_baselines_fail_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_file = str(SUITE / "cases" / "missing-task-404.yaml")
    broken = tmp_path / "baseline.json"
    broken.write_text("{not json")
    for argv, needle in (
        (["--junit", str(tmp_path)], "is a directory"),
        (["--report", str(tmp_path)], "is a directory"),
        (["--baseline", str(broken)], "baseline is not valid JSON"),
        (["--baseline", str(tmp_path / "missing.json")], "cannot read the baseline"),
    ):
        assert main(["eval", case_file, *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert needle in err[0]


def test_a_yaml_bomb_case_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    names = "abcdefgh"
    for prev, name in itertools.pairwise(names):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*levels, "task: t"]) + "\n")
    assert main(["eval", str(bomb)]) == 2
    assert "YAML aliases expand beyond" in capsys.readouterr().err
