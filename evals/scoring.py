"""Scoring: what one run of a case achieved, judged against the case's expectations.

The correct-path rule is RestBench's: the gold operations must appear in the calls made, in
order, as a subsequence; extra calls are the calls beyond that. Only operations count as calls
(``search_operations`` and ``extract`` are the agent's own meta-tools), and only calls whose
request was sent (a denied or invalid call is not a call to the API).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jmespath
from pydantic import BaseModel, Field

from agent.toolview import META_TOOLS
from agent.transcript import ToolCallStep, Transcript
from evals.case import AnswerCheck, ArgCheck, Case


class CaseScore(BaseModel):
    name: str
    passed: bool
    reasons: list[str] = Field(default_factory=list)  # why it failed (empty when passed)
    correct_path: bool
    calls: list[str] = Field(default_factory=list)  # operations called, in order
    extra_calls: int = 0
    steps: int = 0
    tokens: int = 0
    model_calls: int = 0
    latency_ms: float = 0.0
    off_script: list[str] = Field(default_factory=list)
    unplayed: list[str] = Field(default_factory=list)
    faults_injected: list[str] = Field(default_factory=list)
    answer: str | None = None
    error: str | None = None


def api_calls(transcript: Transcript) -> list[ToolCallStep]:
    return [
        s
        for s in transcript.tool_calls()
        if s.tool not in META_TOOLS and (s.result is not None or s.attempts)
    ]


def match_subsequence(gold: list[str], calls: list[str]) -> int:
    """How many gold operations appear in ``calls`` in order (greedy, which is optimal)."""
    matched = 0
    for name in calls:
        if matched < len(gold) and name == gold[matched]:
            matched += 1
    return matched


def _is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def check_args(checks: list[ArgCheck], calls: list[ToolCallStep]) -> list[str]:
    reasons = []
    for check in checks:
        candidates = [c.arguments or {} for c in calls if c.tool == check.tool]
        if not candidates:
            reasons.append(f"no call to {check.tool} to check arguments of")
            continue
        ok = any(
            (check.subset is None or _is_subset(check.subset, args))
            and (check.expr is None or bool(jmespath.search(check.expr, args)))
            for args in candidates
        )
        if not ok:
            wanted = json.dumps(check.subset) if check.subset is not None else check.expr
            reasons.append(f"no call to {check.tool} had arguments matching {wanted}")
    return reasons


def check_answer(check: AnswerCheck, answer: str | None) -> list[str]:
    text = answer or ""
    reasons = [
        f"answer does not contain {needle!r}"
        for needle in check.contains
        if needle.lower() not in text.lower()
    ]
    reasons += [f"answer does not match /{rx}/" for rx in check.regex if not re.search(rx, text)]
    if check.json_path:
        try:
            data = json.loads(text)
        except ValueError:
            return [*reasons, "answer is not JSON, so its JSON checks cannot hold"]
        for jc in check.json_path:
            got = jmespath.search(jc.path, data)
            if got != jc.equals:
                reasons.append(f"answer {jc.path} is {got!r}, expected {jc.equals!r}")
    return reasons


def check_limits(case: Case, *, steps: int, tokens: int, extra: int) -> list[str]:
    limits = (
        (case.expect.max_steps, steps, "steps"),
        (case.expect.max_tokens, tokens, "tokens"),
        (case.expect.max_extra_calls, extra, "extra calls"),
    )
    return [
        f"{what} {got} over the limit {limit}"
        for limit, got, what in limits
        if limit is not None and got > limit
    ]


def score_case(
    case: Case,
    transcript: Transcript,
    *,
    answer: str | None,
    error: str | None,
    latency_ms: float,
    off_script: list[str],
    unplayed: list[str],
    faults_injected: list[str] | None = None,
) -> CaseScore:
    calls = api_calls(transcript)
    names = [c.tool for c in calls]
    gold = case.expect.path
    matched = match_subsequence(gold, names)
    correct = matched == len(gold)
    extra = len(names) - matched
    turns = [s for s in transcript.steps if s.kind == "model_turn"]
    tokens = transcript.usage.total_tokens
    reasons: list[str] = []
    if error:
        reasons.append(f"run failed: {error}")
    if not correct:
        reasons.append(f"gold path not followed: matched {matched} of {gold} in {names}")
    reasons += [f"forbidden call {n}" for n in case.expect.forbidden if n in names]
    reasons += check_args(case.expect.args, calls)
    reasons += check_answer(case.expect.answer, answer)
    if off_script:
        reasons.append(f"off-script requests: {', '.join(off_script)}")
    reasons += check_limits(case, steps=len(transcript.steps), tokens=tokens, extra=extra)
    return CaseScore(
        name=case.name,
        passed=not reasons,
        reasons=reasons,
        correct_path=correct,
        calls=names,
        extra_calls=extra,
        steps=len(transcript.steps),
        tokens=tokens,
        model_calls=len(turns),
        latency_ms=round(latency_ms, 1),
        off_script=off_script,
        unplayed=unplayed,
        faults_injected=faults_injected or [],
        answer=answer,
        error=error,
    )


class SuiteScore(BaseModel):
    cases: list[CaseScore]
    success_rate: float
    correct_path_rate: float
    mean_extra_calls: float
    total_tokens: int
    total_model_calls: int
    total_latency_ms: float

    @classmethod
    def of(cls, cases: list[CaseScore]) -> SuiteScore:
        n = max(len(cases), 1)
        return cls(
            cases=cases,
            success_rate=round(sum(c.passed for c in cases) / n, 4),
            correct_path_rate=round(sum(c.correct_path for c in cases) / n, 4),
            mean_extra_calls=round(sum(c.extra_calls for c in cases) / n, 3),
            total_tokens=sum(c.tokens for c in cases),
            total_model_calls=sum(c.model_calls for c in cases),
            total_latency_ms=round(sum(c.latency_ms for c in cases), 1),
        )
