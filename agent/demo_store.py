"""The demo API's state: projects, members, tasks and comments, seeded deterministically.

Owns the data and the rules (validation, filtering, pagination, a logical clock). It knows
nothing about HTTP: ``agent.demo_api`` maps requests onto these methods and ``DemoError``
onto JSON error responses. ``specs/demo.yaml`` describes the same rules; the tests check that
the two agree.

The clock is logical (one minute per change after the newest seeded item) so that a recorded
cassette replays byte for byte and "the newest task" means the same thing on every run.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]

STATUSES = ("open", "in_progress", "done")
PRIORITIES = ("low", "medium", "high")
LABELS = ("bug", "feature", "docs", "ui", "backend", "security", "performance")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_PROJECTS = (
    ("web", "Web app", "The customer-facing web application."),
    ("api", "Public API", "The REST API and its SDKs."),
    ("ops", "Operations", "Infrastructure, deploys and on-call."),
)
_MEMBERS = (
    ("ada", "Ada Lovelace", "lead"),
    ("grace", "Grace Hopper", "engineer"),
    ("alan", "Alan Turing", "engineer"),
    ("katherine", "Katherine Johnson", "engineer"),
    ("linus", "Linus Torvalds", "reviewer"),
    ("margaret", "Margaret Hamilton", "manager"),
)
_SUBJECTS = (
    "login form",
    "search results page",
    "billing export",
    "password reset email",
    "rate limiter",
    "dashboard charts",
    "webhook retries",
    "audit log",
    "dark mode",
    "CSV import",
    "deploy pipeline",
    "TLS certificates",
)
_VERBS = ("Fix", "Improve", "Document", "Redesign", "Speed up", "Add tests for", "Review")


class DemoError(Exception):
    """A request the demo API refuses: HTTP status, machine code and a readable message."""

    def __init__(self, status: int, code: str, message: str, details: list[JSON] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def to_json(self) -> JSON:
        error: JSON = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _invalid(field_name: str, message: str) -> DemoError:
    detail = {"field": field_name, "message": message}
    return DemoError(422, "invalid", f"{field_name}: {message}", [detail])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed_task(i: int) -> JSON:
    """Task number ``i`` (1-based) of the seed: varied but fully determined by ``i``."""
    subject = _SUBJECTS[(i * 5) % len(_SUBJECTS)]
    verb = _VERBS[(i * 3) % len(_VERBS)]
    labels = [LABELS[i % len(LABELS)]]
    if i % 3 == 0:
        labels.append(LABELS[(i // 3 + 2) % len(LABELS)])
    if i % 4 == 1 and "bug" not in labels:
        labels.insert(0, "bug")
    created = _stamp(_EPOCH + timedelta(hours=7 * i))
    return {
        "id": i,
        "project_id": _PROJECTS[(i + i // 4) % len(_PROJECTS)][0],
        "title": f"{verb} the {subject}",
        "description": (
            f"Task {i} for the {subject}. Steps to reproduce, acceptance criteria and links "
            f"to the related discussion are kept here so the description is realistic in size."
        ),
        "status": ("open", "open", "in_progress", "open", "done")[(i + i // 7) % 5],
        "priority": PRIORITIES[(i * 7) % len(PRIORITIES)],
        "labels": sorted(set(labels), key=labels.index),
        "assignee": None if i % 6 == 0 else _MEMBERS[i % len(_MEMBERS)][0],
        "created_at": created,
        "updated_at": created,
    }


@dataclass
class DemoStore:
    """In-memory state guarded by one lock (the HTTP server is threaded)."""

    tasks: dict[int, JSON] = field(default_factory=dict)
    comments: dict[int, list[JSON]] = field(default_factory=dict)
    next_task_id: int = 1
    next_comment_id: int = 1
    clock: datetime = _EPOCH
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def seeded(cls, n_tasks: int = 60) -> DemoStore:
        store = cls()
        for i in range(1, n_tasks + 1):
            store.tasks[i] = _seed_task(i)
            store.comments[i] = []
        store.next_task_id = n_tasks + 1
        store.clock = _EPOCH + timedelta(hours=7 * n_tasks)
        for task_id, author, body in ((1, "grace", "Reproduced on staging."), (1, "ada", "Ok.")):
            if task_id in store.tasks:
                store._add_comment(task_id, author, body)
        return store

    def _tick(self) -> str:
        self.clock += timedelta(minutes=1)
        return _stamp(self.clock)

    # -- projects and members ------------------------------------------------------------

    def list_projects(self) -> JSON:
        with self.lock:
            items = [self._project(pid) for pid, _, _ in _PROJECTS]
        return {"items": items}

    def get_project(self, project_id: str) -> JSON:
        with self.lock:
            if project_id not in {p[0] for p in _PROJECTS}:
                raise DemoError(404, "not_found", f"project {project_id!r} does not exist")
            return self._project(project_id)

    def _project(self, project_id: str) -> JSON:
        name, description = next((n, d) for p, n, d in _PROJECTS if p == project_id)
        counts = dict.fromkeys(STATUSES, 0)
        for task in self.tasks.values():
            if task["project_id"] == project_id:
                counts[task["status"]] += 1
        return {"id": project_id, "name": name, "description": description, "task_counts": counts}

    def list_members(self) -> JSON:
        items = [
            {"id": mid, "name": name, "role": role, "email": f"{mid}@example.com"}
            for mid, name, role in _MEMBERS
        ]
        return {"items": items}

    # -- tasks ---------------------------------------------------------------------------

    def list_tasks(self, query: dict[str, list[str]]) -> JSON:
        limit = _int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _decode_cursor(_one(query, "cursor"))
        order = _choice(query, "order", ("newest", "oldest"), "newest")
        status = _choice(query, "status", STATUSES, None)
        project = _one(query, "project_id")
        assignee = _one(query, "assignee")
        labels = query.get("label", [])
        text = (_one(query, "q") or "").lower()
        with self.lock:
            tasks = [
                t
                for t in self.tasks.values()
                if (status is None or t["status"] == status)
                and (project is None or t["project_id"] == project)
                and (assignee is None or t["assignee"] == assignee)
                and all(label in t["labels"] for label in labels)
                and text in t["title"].lower()
            ]
            tasks.sort(key=lambda t: (t["created_at"], t["id"]), reverse=order == "newest")
            page = [dict(t, labels=list(t["labels"])) for t in tasks[offset : offset + limit]]
        more = offset + limit < len(tasks)
        return {
            "items": page,
            "total": len(tasks),
            "next_cursor": _encode_cursor(offset + limit) if more else None,
        }

    def get_task(self, task_id: int) -> JSON:
        with self.lock:
            return dict(self._task(task_id))

    def _task(self, task_id: int) -> JSON:
        task = self.tasks.get(task_id)
        if task is None:
            raise DemoError(404, "not_found", f"task {task_id} does not exist")
        return task

    def create_task(self, body: Any) -> JSON:
        fields = _task_fields(body, creating=True)
        with self.lock:
            now = self._tick()
            task: JSON = {
                "id": self.next_task_id,
                "project_id": fields["project_id"],
                "title": fields["title"],
                "description": fields.get("description", ""),
                "status": fields.get("status", "open"),
                "priority": fields.get("priority", "medium"),
                "labels": fields.get("labels", []),
                "assignee": fields.get("assignee"),
                "created_at": now,
                "updated_at": now,
            }
            self.tasks[task["id"]] = task
            self.comments[task["id"]] = []
            self.next_task_id += 1
            return dict(task)

    def update_task(self, task_id: int, body: Any) -> JSON:
        fields = _task_fields(body, creating=False)
        with self.lock:
            task = self._task(task_id)
            task.update(fields)
            task["updated_at"] = self._tick()
            return dict(task)

    def delete_task(self, task_id: int) -> None:
        with self.lock:
            self._task(task_id)
            del self.tasks[task_id]
            del self.comments[task_id]

    # -- comments ------------------------------------------------------------------------

    def list_comments(self, task_id: int) -> JSON:
        with self.lock:
            self._task(task_id)
            return {"items": [dict(c) for c in self.comments[task_id]]}

    def add_comment(self, task_id: int, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise _invalid("body", "must be a JSON object")
        _reject_unknown(body, {"body", "author"})
        text = body.get("body")
        if not isinstance(text, str) or not text:
            raise _invalid("body", "is required: a non-empty string")
        author = body.get("author", "you")
        if not isinstance(author, str) or not author:
            raise _invalid("author", "must be a non-empty string")
        with self.lock:
            self._task(task_id)
            return dict(self._add_comment(task_id, author, text))

    def _add_comment(self, task_id: int, author: str, text: str) -> JSON:
        comment = {
            "id": self.next_comment_id,
            "task_id": task_id,
            "author": author,
            "body": text,
            "created_at": self._tick(),
        }
        self.next_comment_id += 1
        self.comments[task_id].append(comment)
        return comment


# -- validation helpers (messages name the field, so a model can fix its call) ------------

_MEMBER_IDS = {m[0] for m in _MEMBERS}
_PROJECT_IDS = {p[0] for p in _PROJECTS}


def _reject_unknown(body: JSON, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _invalid(
            unknown[0], f"unknown field; allowed fields are {', '.join(sorted(allowed))}"
        )


def _task_fields(body: Any, *, creating: bool) -> JSON:
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    allowed = {"title", "description", "status", "priority", "labels", "assignee"}
    _reject_unknown(body, allowed | ({"project_id"} if creating else set()))
    if creating:
        for name in ("project_id", "title"):
            if name not in body:
                raise _invalid(name, "is required")
    if not creating and not body:
        raise _invalid("body", "must set at least one field")
    for name in ("title", "description"):
        if name in body and not isinstance(body[name], str):
            raise _invalid(name, "must be a string")
    if "title" in body and not body["title"]:
        raise _invalid("title", "must not be empty")
    _check_enum(body, "project_id", _PROJECT_IDS)
    _check_enum(body, "status", set(STATUSES))
    _check_enum(body, "priority", set(PRIORITIES))
    if "labels" in body:
        labels = body["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            raise _invalid("labels", "must be a list of non-empty strings")
        body = dict(body, labels=list(dict.fromkeys(labels)))
    if body.get("assignee") is not None:
        _check_enum(body, "assignee", _MEMBER_IDS)
    return dict(body)


def _check_enum(body: JSON, name: str, allowed: set[str]) -> None:
    if name in body and body[name] not in allowed:
        raise _invalid(name, f"must be one of {', '.join(sorted(allowed))}")


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise _invalid(name, "must be given once")
    return values[0]


def _choice(
    query: dict[str, list[str]], name: str, allowed: tuple[str, ...], default: str | None
) -> str | None:
    value = _one(query, name)
    if value is None:
        return default
    if value not in allowed:
        raise _invalid(name, f"must be one of {', '.join(allowed)}")
    return value


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise _invalid(name, f"must be between {low} and {high}")
    return value


def _encode_cursor(offset: int) -> str:
    # Opaque on purpose: clients must pass next_cursor back, not compute offsets.
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        offset = int(text[2:])
    except ValueError:
        raise _invalid("cursor", "is not a cursor this API returned") from None
    if offset < 0:
        raise _invalid("cursor", "is not a cursor this API returned")
    return offset
