"""The SQLite run store keeps transcripts whole and finds them by id, prefix or ``last``."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.messages import Usage
from agent.runstore import RunNotFoundError, RunStore, default_path
from agent.transcript import AnswerStep, ModelTurnStep, Transcript, UserStep


def _transcript(run_id: str, started_at: str) -> Transcript:
    t = Transcript(run_id=run_id, model="scripted", started_at=started_at, specs=["demo.yaml"])
    t.add(UserStep(text="list pets"))
    t.add(ModelTurnStep(text="done", usage=Usage(prompt_tokens=10, completion_tokens=2)))
    t.add(AnswerStep(text="done"))
    return t


def test_a_saved_run_round_trips(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "deep" / "runs.sqlite")
    original = _transcript("abc123", "2026-01-01T00:00:00+00:00")
    store.save(original, task="list pets", status="done", answer="done")
    assert store.load("abc123") == original
    record = store.get("abc")
    assert (record.run_id, record.task, record.status, record.answer) == (
        "abc123",
        "list pets",
        "done",
        "done",
    )
    assert record.finished_at is not None


def test_saving_again_replaces_the_run_and_listing_is_newest_first(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    store.save(_transcript("old111", "2026-01-01T00:00:00+00:00"), task="a", status="running")
    store.save(_transcript("new222", "2026-01-02T00:00:00+00:00"), task="b", status="done")
    store.save(
        _transcript("old111", "2026-01-01T00:00:00+00:00"), task="a", status="failed", error="x"
    )
    assert [(r.run_id, r.status) for r in store.list()] == [
        ("new222", "done"),
        ("old111", "failed"),
    ]
    assert store.resolve("last") == "new222"
    assert store.list(limit=1)[0].run_id == "new222"


def test_unknown_and_ambiguous_ids_are_clear_errors(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    store.save(_transcript("aa1", "2026-01-01T00:00:00+00:00"), task="a", status="done")
    store.save(_transcript("aa2", "2026-01-02T00:00:00+00:00"), task="b", status="done")
    with pytest.raises(RunNotFoundError, match="no stored run 'zz'"):
        store.load("zz")
    with pytest.raises(RunNotFoundError, match="ambiguous"):
        store.load("aa")
    with pytest.raises(RunNotFoundError):
        store.load("a%")  # LIKE wildcards are literal, not patterns


def test_default_path_follows_baton_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATON_HOME", str(tmp_path))
    assert default_path() == tmp_path / "runs.sqlite"
    monkeypatch.delenv("BATON_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "baton" / "runs.sqlite"
