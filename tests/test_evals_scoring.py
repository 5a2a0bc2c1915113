from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from agent.messages import ToolCall, Usage
from agent.transcript import AnswerStep, ModelTurnStep, ToolCallStep, Transcript
from evals.case import AnswerCheck, ArgCheck, Case, Expect, JsonCheck
from evals.report import below_baseline, junit_xml, load_baseline
from evals.scoring import SuiteScore, check_answer, match_subsequence, score_case
from tools.call import CallResult


def _call(tool: str, args: dict[str, object], status: int = 200) -> ToolCallStep:
    return ToolCallStep(
        call_id=tool,
        tool=tool,
        arguments=args,
        result=CallResult(tool=tool, status=status, headers={}),
    )


def _transcript(*calls: ToolCallStep) -> Transcript:
    t = Transcript()
    t.add(
        ModelTurnStep(
            tool_calls=[ToolCall(id="1", name="x", arguments="{}")],
            usage=Usage(prompt_tokens=100, completion_tokens=10),
        )
    )
    for c in calls:
        t.add(c)
    t.add(ModelTurnStep(text="done", usage=Usage(prompt_tokens=150, completion_tokens=5)))
    t.add(AnswerStep(text="done"))
    return t


def _case(**expect: object) -> Case:
    return Case(name="c", task="t", specs=[Path("s.yaml")], expect=Expect.model_validate(expect))


def test_subsequence_rule_is_restbench_correct_path() -> None:
    assert match_subsequence(["a", "b"], ["a", "x", "b", "y"]) == 2
    assert match_subsequence(["a", "b"], ["b", "a"]) == 1
    assert match_subsequence([], ["a"]) == 0


def test_score_counts_path_extra_calls_tokens_and_model_calls() -> None:
    transcript = _transcript(
        _call("listTasks", {"status": "open"}),
        _call("search_operations", {"query": "comment"}),  # meta-tool: not an API call
        _call("getTask", {"task_id": 3}),
        _call("addComment", {"task_id": 3, "body": "hi"}),
    )
    case = _case(
        path=["listTasks", "addComment"], args=[{"tool": "addComment", "subset": {"task_id": 3}}]
    )
    score = score_case(
        case, transcript, answer="done", error=None, latency_ms=12.5, off_script=[], unplayed=[]
    )
    assert score.passed, score.reasons
    assert score.calls == ["listTasks", "getTask", "addComment"]
    assert score.extra_calls == 1
    assert score.tokens == 265
    assert score.model_calls == 2


def test_failures_say_why() -> None:
    transcript = _transcript(_call("addComment", {"task_id": 4}), _call("deleteTask", {}))
    case = _case(
        path=["listTasks", "addComment"],
        forbidden=["deleteTask"],
        args=[ArgCheck(tool="addComment", subset={"task_id": 3}).model_dump()],
        max_extra_calls=0,
    )
    score = score_case(
        case,
        transcript,
        answer="x",
        error=None,
        latency_ms=1,
        off_script=["GET /nope"],
        unplayed=["GET /tasks"],
    )
    assert not score.passed
    text = " | ".join(score.reasons)
    assert "gold path not followed" in text
    assert "forbidden call deleteTask" in text
    assert 'matching {"task_id": 3}' in text
    assert "off-script requests: GET /nope" in text
    assert "extra calls 2 over the limit 0" in text


def test_answer_checks() -> None:
    check = AnswerCheck(
        contains=["Three"], regex=[r"\d+ tasks"], json=[JsonCheck(path="n", equals=3)]
    )
    assert check_answer(check, "three, 3 tasks") == [
        "answer is not JSON, so its JSON checks cannot hold"
    ]
    good = AnswerCheck(json=[JsonCheck(path="items[0].id", equals=7)])
    assert check_answer(good, json.dumps({"items": [{"id": 7}]})) == []
    assert check_answer(good, json.dumps({"items": [{"id": 8}]})) == [
        "answer items[0].id is 8, expected 7"
    ]


def test_suite_report_junit_reads_back_and_baseline_gates(tmp_path: Path) -> None:
    ok = score_case(
        _case(path=["a"]),
        _transcript(_call("a", {})),
        answer="",
        error=None,
        latency_ms=1000,
        off_script=[],
        unplayed=[],
    )
    bad = score_case(
        _case(path=["b"]),
        _transcript(_call("a", {})),
        answer="",
        error=None,
        latency_ms=500,
        off_script=[],
        unplayed=[],
    )
    suite = SuiteScore.of([ok, bad])
    assert suite.success_rate == 0.5
    assert suite.correct_path_rate == 0.5
    root = ET.fromstring(junit_xml(suite))
    assert root.get("tests") == "2"
    assert root.get("failures") == "1"
    failures = root.findall("testcase/failure")
    assert len(failures) == 1
    assert "gold path not followed" in (failures[0].text or "")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"success_rate": 0.9, "correct_path_rate": 0.5}))
    assert below_baseline(suite, load_baseline(baseline)) == ["success_rate 0.5 < baseline 0.9"]
    schema = SuiteScore.model_json_schema()
    assert set(schema["required"]) >= {"cases", "success_rate", "correct_path_rate"}
