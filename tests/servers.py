"""Real servers for integration tests, started on free 127.0.0.1 ports and stopped after.

- ``httpbin_url``: httpbin (statuses, delays, redirects, echo) under gunicorn's threaded
  worker, from the interpreter's own bin directory so it matches the test's venv.
- ``prism``: a factory that serves an OpenAPI file with Stoplight Prism in mock mode
  (``--errors`` makes it answer 422 for requests that break the spec). Installed by
  ``make setup-prism``; tests skip with that instruction when it is absent.

Use them from a test module (or a conftest) with ``from tests.servers import httpbin_url``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRISM = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepting(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running(argv: list[str], port: int, *, name: str, timeout: float = 30.0) -> Iterator[str]:
    """Run ``argv`` until its port accepts connections; yield its base URL; stop it after."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
        try:
            deadline = time.monotonic() + timeout
            while not _accepting(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    pytest.fail(f"{name} did not start on 127.0.0.1:{port}:\n{output}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server runs in its own session: stop the whole group (gunicorn workers, node).
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def httpbin_url() -> Iterator[str]:
    if not GUNICORN.exists():
        pytest.skip(f"gunicorn not installed next to {sys.executable} (make setup)")
    port = free_port()
    argv = [str(GUNICORN), "httpbin:app", "-b", f"127.0.0.1:{port}"]
    argv += ["--worker-class", "gthread", "--threads", "16", "--log-level", "warning"]
    with running(argv, port, name="httpbin") as url:
        yield url


PrismFactory = Callable[[Path], str]


@pytest.fixture(scope="session")
def prism() -> Iterator[PrismFactory]:
    """``prism(spec_path) -> base URL``; one Prism per spec, all stopped at session end."""
    if not PRISM.exists():
        pytest.skip(f"Prism is not installed at {PRISM}; run `make setup-prism`")
    with contextlib.ExitStack() as stack:
        started: dict[Path, str] = {}

        def serve(spec: Path) -> str:
            spec = spec.resolve()
            if spec not in started:
                port = free_port()
                argv = [str(PRISM), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port)]
                argv.append("--errors")
                started[spec] = stack.enter_context(
                    running(argv, port, name=f"prism for {spec.name}", timeout=60)
                )
            return started[spec]

        yield serve
