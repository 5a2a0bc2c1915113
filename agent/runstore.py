"""The run store: every run's transcript in one SQLite file, listable and loadable by id.

Owns the on-disk format of stored runs (one row per run: id, start time, task, model, status,
answer, error, and the transcript as JSON). Consumers: ``Agent`` (saves each run when given a
store), ``baton run``, the shell's history and ``baton workflow export RUN``. Transcripts are
already redacted when they arrive; this module never sees a secret.

Location: ``$BATON_HOME/runs.sqlite`` when ``BATON_HOME`` is set, else
``$XDG_DATA_HOME/baton/runs.sqlite`` (``~/.local/share/baton/runs.sqlite``). SQLite because it
is embedded and needs no set-up (DESIGN.md); a connection per operation keeps the store safe
to share between threads and processes (SQLite's own locking serializes writers).

Transcripts hold redacted requests but whole API responses (names, emails, whatever the APIs
return), so the file is created readable by its owner only (0600, its folder 0700), like the
credentials file. A store that cannot be opened (not a database, a folder that is a file, no
permission) raises ``RunStoreError`` naming the file, which the CLI prints as one line.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agent.errors import AgentError
from agent.transcript import Transcript

RunStatus = Literal["running", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT,
    error TEXT,
    transcript TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
"""
_COLUMNS = "run_id, started_at, finished_at, task, model, status, answer, error"


class RunNotFoundError(LookupError):
    """No stored run matches the id (or the id prefix is ambiguous)."""


class RunStoreError(AgentError):
    """The run store's file cannot be opened or written (the message names the file)."""


@dataclass(frozen=True)
class RunRecord:
    """A stored run without its transcript (for listings)."""

    run_id: str
    started_at: str
    finished_at: str | None
    task: str
    model: str
    status: str
    answer: str | None
    error: str | None


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def default_path() -> Path:
    home = os.environ.get("BATON_HOME")
    if home:
        return Path(home) / "runs.sqlite"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "baton" / "runs.sqlite"


class RunStore:
    """Runs saved in a SQLite file (created on first use, with its directory)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self._create_private()
            with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
                conn.executescript(_SCHEMA)
                with conn:  # one transaction: committed on success, rolled back on error
                    yield conn
        except (OSError, sqlite3.DatabaseError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise RunStoreError(f"run store {self.path}: {reason}") from exc

    def check(self) -> None:
        """Open (creating if needed) the store now: a command fails before any work, not after."""
        with self._connect():
            pass

    def _create_private(self) -> None:
        """Create the folder (0700) and the file (0600) before SQLite creates them 0644."""
        if self.path.exists():
            return
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise RunStoreError(f"run store {self.path}: {folder} is not a folder")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))

    def save(
        self,
        transcript: Transcript,
        *,
        task: str,
        status: RunStatus,
        answer: str | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or update the run ``transcript.run_id`` (saving again replaces it)."""
        finished = None if status == "running" else datetime.now(UTC).isoformat()
        row = (
            transcript.run_id,
            transcript.started_at,
            finished,
            task,
            transcript.model,
            status,
            answer,
            error,
            transcript.model_dump_json(),
        )
        with self._connect() as conn:
            conn.execute(f"INSERT OR REPLACE INTO runs ({_COLUMNS}, transcript) VALUES "  # noqa: S608
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?)", row)  # fmt: skip

    def resolve(self, run_id: str) -> str:
        """The full id for ``run_id``: an exact id, a unique prefix, or ``last``."""
        with self._connect() as conn:
            if run_id == "last":
                rows = conn.execute(
                    "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1"
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT run_id FROM runs WHERE run_id = ? OR run_id LIKE ? ESCAPE '\\' LIMIT 3",
                    (run_id, _like_prefix(run_id)),
                ).fetchall()
        ids = [str(r[0]) for r in rows]
        if run_id in ids:
            return run_id
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise RunNotFoundError(f"no stored run {run_id!r} in {self.path}")
        raise RunNotFoundError(f"run id {run_id!r} is ambiguous: {', '.join(ids)}, ...")

    def load(self, run_id: str) -> Transcript:
        """The stored transcript of ``run_id`` (see ``resolve`` for accepted ids)."""
        full = self.resolve(run_id)
        with self._connect() as conn:
            row = conn.execute("SELECT transcript FROM runs WHERE run_id = ?", (full,)).fetchone()
        return Transcript.model_validate_json(row[0])

    def get(self, run_id: str) -> RunRecord:
        full = self.resolve(run_id)
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_id = ?", (full,))  # noqa: S608
            return RunRecord(*row.fetchone())

    def list(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM runs ORDER BY started_at DESC LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
        return [RunRecord(*row) for row in rows]
