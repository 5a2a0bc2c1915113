"""Plans for the shipped demo suite: deterministic stand-ins for a model, used to record it.

The bundled 135M model cannot plan multi-step tasks, and the suite must run with no key, so
its model cassettes were recorded from these plans served over the Chat Completions protocol
(``evals.scripted_chat``) through the real OpenAI client. Each plan reads the conversation as
a model would: the task, then the observations Baton returned, and decides the next turn from
them. Nothing here is replayed directly: the suite replays the recorded HTTP traffic.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from agent.messages import Message, ModelTurn, ToolCall, Usage
from tools.model import JSONObject

Observation = tuple[str, JSONObject, Any]  # (tool, arguments, parsed observation or text)
PlanStep = Callable[[list[Observation]], ModelTurn]


def _observations(messages: list[Message]) -> list[Observation]:
    calls: dict[str, ToolCall] = {}
    seen: list[Observation] = []
    for message in messages:
        for call in message.tool_calls:
            calls[call.id] = call
        if message.role == "tool" and message.tool_call_id in calls:
            call = calls[message.tool_call_id]
            text = message.content or ""
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            seen.append((call.name, json.loads(call.arguments), parsed))
    return seen


def _call(name: str, args: JSONObject, n: int) -> ModelTurn:
    call = ToolCall(id=f"call_{n}", name=name, arguments=json.dumps(args))
    return ModelTurn(message=Message(role="assistant", tool_calls=[call]), usage=Usage())


def _say(text: str) -> ModelTurn:
    return ModelTurn(message=Message(role="assistant", content=text))


def _body(observation: Any) -> Any:
    return observation.get("body") if isinstance(observation, dict) else None


def bug_summary(seen: list[Observation]) -> ModelTurn:
    if not seen:
        return _call("listTasks", {"status": "open", "label": ["bug"], "limit": 3}, 1)
    if len(seen) == 1:
        items = _body(seen[0][2])["items"]
        titles = "; ".join(f"#{t['id']} {t['title']}" for t in items)
        comment = {"body": f"Newest open bugs: {titles}", "author": "ada"}
        return _call("addComment", {"task_id": items[0]["id"], "body": comment}, 2)
    posted = _body(seen[1][2])
    return _say(f"Posted the summary as comment {posted['id']} on task #{posted['task_id']}.")


def done_titles(seen: list[Observation]) -> ModelTurn:
    if not seen:
        return _call("listTasks", {"status": "done", "limit": 10}, 1)
    cursor = _body(seen[-1][2]).get("next_cursor")
    if cursor:
        return _call("listTasks", {"status": "done", "limit": 10, "cursor": cursor}, len(seen) + 1)
    titles = [t["title"] for _, _, obs in seen for t in _body(obs)["items"]]
    return _say(f"{len(titles)} tasks are done: " + "; ".join(titles))


def fix_status(seen: list[Observation]) -> ModelTurn:
    if not seen:  # a first try with a status the API does not have
        return _call("updateTask", {"task_id": 7, "body": {"status": "finished"}}, 1)
    if len(seen) == 1:  # the observation named the allowed values: correct it
        return _call("updateTask", {"task_id": 7, "body": {"status": "done"}}, 2)
    task = _body(seen[1][2])
    return _say(f"Task #{task['id']} is now {task['status']}.")


def busiest_member(seen: list[Observation]) -> ModelTurn:
    if not seen:
        return _call("listTasks", {"limit": 100}, 1)
    if len(seen) == 1:
        handle = seen[0][2]["handle"]
        expression = "items[?status=='open'].assignee"
        return _call("extract", {"handle": handle, "expression": expression}, 2)
    result = seen[1][2]
    values = result.get("result", result) if isinstance(result, dict) else result
    counts = Counter(v for v in values if v)
    member, n = counts.most_common(1)[0]
    return _say(f"{member} has the most open tasks assigned ({n}).")


def project_counts(seen: list[Observation]) -> ModelTurn:
    if not seen:
        return _call("listProjects", {}, 1)
    projects = _body(seen[0][2])["items"]
    best = max(projects, key=lambda p: p["task_counts"]["open"])
    return _say(f"{best['name']} has the most open tasks ({best['task_counts']['open']}).")


def missing_task(seen: list[Observation]) -> ModelTurn:
    if not seen:
        return _call("listComments", {"task_id": 999}, 1)
    return _say("Task 999 does not exist (the API answered 404), so it has no comments.")


PLANS: dict[str, PlanStep] = {
    "bug-summary": bug_summary,
    "done-titles-paginated": done_titles,
    "fix-invalid-status": fix_status,
    "busiest-member-extract": busiest_member,
    "project-counts-after-429": project_counts,
    "missing-task-404": missing_task,
}


def plan_for(name: str) -> Callable[[list[Message], list[JSONObject]], ModelTurn]:
    step = PLANS[name]

    def plan(messages: list[Message], _tools: list[JSONObject]) -> ModelTurn:
        return step(_observations(messages))

    return plan
