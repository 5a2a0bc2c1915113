"""What the shell draws for tool calls, retries, errors and runs (from transcript steps)."""

from __future__ import annotations

import io

from rich.console import Console

from agent.messages import Usage
from agent.shell_render import TaskView, summary_line, tool_call_line, trace_tree
from agent.transcript import AnswerStep, ErrorStep, ModelTurnStep, ToolCallStep, Transcript
from tools.call import CallResult, PreparedRequest
from tools.events import HttpAttempt

URL = "http://127.0.0.1:9/tasks?api_key=[REDACTED]"


def _attempt(n: int, status: int | None, **extra: object) -> HttpAttempt:
    return HttpAttempt(tool="listTasks", attempt=n, method="GET", url=URL, status=status,
                       elapsed_ms=5.0, **extra)  # type: ignore[arg-type]  # fmt: skip


def _render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


def test_a_retried_call_shows_every_attempt_in_its_line() -> None:
    attempts = [
        _attempt(1, 503, retry_reason="503", wait_s=0.5),
        _attempt(2, None, error="timeout", retry_reason="timeout", wait_s=1.0),
        _attempt(3, 200),
    ]
    result = CallResult(tool="listTasks", status=200, headers={}, attempts=attempts)
    step = ToolCallStep(call_id="c1", tool="listTasks", result=result, attempts=attempts,
                        elapsed_ms=1534.0)  # fmt: skip
    line = tool_call_line(step).plain
    assert line.startswith(f"✓ listTasks  GET {URL}  200  1.5 s")
    assert "(3 attempts: 503 retry in 0.5 s, timeout retry in 1.0 s, 200)" in line


def test_failed_and_dry_run_calls_say_so() -> None:
    failed = ToolCallStep(call_id="c1", tool="getTask", error="task_id: must be an integer",
                          error_type="ArgumentError")  # fmt: skip
    assert tool_call_line(failed).plain.startswith("✗ getTask")
    assert "ArgumentError: task_id: must be an integer" in tool_call_line(failed).plain
    request = PreparedRequest(tool="deleteTask", method="DELETE", url="http://h/tasks/5",
                              headers={}, side_effect="idempotent")  # fmt: skip
    dry = ToolCallStep(call_id="c2", tool="deleteTask", request=request)
    assert "○ deleteTask  DELETE http://h/tasks/5  dry run, not sent" in tool_call_line(dry).plain


def test_the_trace_nests_attempts_under_calls() -> None:
    transcript = Transcript(model="m")
    transcript.add(
        ModelTurnStep(text="Looking.", usage=Usage(prompt_tokens=10, completion_tokens=2))
    )
    attempts = [_attempt(1, 429, retry_reason="429", wait_s=2.0), _attempt(2, 200)]
    result = CallResult(tool="listTasks", status=200, headers={}, attempts=attempts)
    transcript.add(ToolCallStep(call_id="c", tool="listTasks", result=result, attempts=attempts))
    transcript.add(ErrorStep(message="ModelError: boom", error_type="ModelError"))
    shown = _render(trace_tree(transcript))
    assert "model turn  12 tokens" in shown
    assert f"attempt 1  GET {URL}  429  5 ms  retry: 429 after 2.0 s" in shown
    assert f"attempt 2  GET {URL}  200" in shown
    assert "error ModelError: boom" in shown
    assert "ModelError: ModelError" not in shown


def test_summary_counts_calls_failures_and_tokens() -> None:
    transcript = Transcript()
    transcript.add(ModelTurnStep(usage=Usage(prompt_tokens=100, completion_tokens=5)))
    ok = CallResult(tool="a", status=200, headers={})
    bad = CallResult(tool="b", status=404, headers={})
    transcript.add(ToolCallStep(call_id="1", tool="a", result=ok))
    transcript.add(ToolCallStep(call_id="2", tool="b", result=bad))
    text = summary_line(transcript, 2.04).plain
    assert text == "done: 2 calls (1 failed), 105 tokens (100 in, 5 out), 2.0 s"


def test_streamed_answer_is_not_printed_twice() -> None:
    out = io.StringIO()
    view = TaskView(Console(file=out, width=200, color_system=None))
    for piece in ("All ", "done."):
        view.on_text(piece)
    view.on_step(ModelTurnStep(text="All done."))
    view.on_step(AnswerStep(text="All done."))
    assert out.getvalue().count("All done.") == 1
