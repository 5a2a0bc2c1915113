"""Test-wide guards: no network except 127.0.0.1 / ::1, and paths to shared fixtures."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
CORPUS = ROOT.parent / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    """Keep tests off the user's home: caches, run store and history go to a temp folder.

    Set before any test runs so subprocesses (the CLI, the shell under pexpect) inherit it.
    """
    scratch = tempfile.mkdtemp(prefix="baton-tests-")
    os.environ.setdefault("BATON_CACHE_DIR", os.path.join(scratch, "cache"))
    os.environ.setdefault("BATON_HOME", os.path.join(scratch, "home"))


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise RuntimeError(f"network access outside 127.0.0.1 is blocked in tests: {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any real network access except loopback (AF_UNIX sockets are not affected)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenAIClient refuses non-loopback URLs before sending (agent.testing explains why both).

    The socket guard above catches every connection, even from code that bypasses the client;
    this one fails earlier, names the model and URL, and reaches subprocesses (``baton chat``
    under pexpect) through the environment, where the socket guard does not.
    """
    monkeypatch.setenv("BATON_BLOCK_REMOTE_MODELS", "1")


def corpus_path(*parts: str) -> Path:
    """A path inside ../shared/corpus, skipping the test with a reason when it is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"robustness corpus not found at {path} (a user's clone has no ../shared)")
    return path
