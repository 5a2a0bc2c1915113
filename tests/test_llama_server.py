"""The local model's server process leaves when Baton's process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import ROOT

_CHILD = (
    "import time; from agent.llama_server import _exit_with_parent; "
    "_exit_with_parent(0.05); time.sleep(30)"
)
_PARENT = (
    "import subprocess, sys, os; "
    "env = dict(os.environ, BATON_PARENT_PID=str(os.getpid())); "
    f"p = subprocess.Popen([sys.executable, '-c', {_CHILD!r}], start_new_session=True, "
    "env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(p.pid, flush=True); os._exit(0)"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state letter in /proc says it is dead.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_server_process_exits_when_its_parent_dies() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PARENT], cwd=ROOT, capture_output=True, text=True, check=True
    )
    child = int(out.stdout.strip())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
