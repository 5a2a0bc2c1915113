"""``baton demo --task ...`` with the real bundled local model reaches a real tool call.

Started as a new user would: no key, no model configured, so Baton falls back to the local
model (SmolLM2-135M under llama.cpp). The model is tiny and may pick the wrong tool or loop, so
the proof is that it makes a real, validated call to the demo API; the test stops the process
once it has.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

from agent.local_model import local_model_available
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATON = [sys.executable, "-c", "import sys; from agent.cli import main; sys.exit(main())"]
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CALL = re.compile(
    r"[✓!] (listMembers|listProjects|listTasks|getTask|getProject|listComments|getHealth)"
    r"  GET http://127\.0\.0\.1:\d+/\S*  200"
)


@pytest.mark.timeout(600)
def test_the_demo_with_the_local_model_reaches_a_real_tool_call(tmp_path: Path) -> None:
    if not local_model_available():
        pytest.skip("the local model is not installed (make setup-local)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "BATON_"))}
    env.update(BATON_HOME=str(tmp_path / "home"), BATON_CACHE_DIR=str(tmp_path / "cache"))
    child = pexpect.spawn(
        BATON[0],
        [*BATON[1:], "demo", "--task", "list the team members", "--yes"],
        env=env,
        cwd=str(ROOT),
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=540,
    )
    seen = ""
    try:
        while _CALL.search(_ANSI.sub("", seen)) is None:
            try:
                seen += child.read_nonblocking(65536, timeout=540)
            except pexpect.EOF:
                break
        assert _CALL.search(_ANSI.sub("", seen)), f"no successful tool call:\n{seen}"
        child.sendintr()  # Ctrl-C stops the task; the demo then stops its model server
        child.expect(pexpect.EOF, timeout=60)
        assert "stopped" in _ANSI.sub("", seen + (child.before or ""))
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()


@pytest.mark.timeout(900)
def test_ctrl_c_in_the_shell_stops_the_task_but_not_the_local_model(tmp_path: Path) -> None:
    """The terminal sends SIGINT to the whole process group; the model server must survive."""
    if not local_model_available():
        pytest.skip("the local model is not installed (make setup-local)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "BATON_"))}
    env.update(
        BATON_HOME=str(tmp_path / "home"),
        BATON_CACHE_DIR=str(tmp_path / "cache"),
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm-256color",
    )
    child = pexpect.spawn(
        BATON[0], [*BATON[1:], "demo"], env=env, cwd=str(ROOT), encoding="utf-8",
        dimensions=(50, 200), timeout=600,
    )  # fmt: skip
    try:
        child.expect("baton>")
        child.send("list the projects\r")
        child.expect("thinking")
        child.sendintr()
        child.expect("stopped")
        child.expect("baton>")
        child.send("list the projects\r")
        child.expect(r"(done|failed): \d+ call")
        second = _ANSI.sub("", child.before or "")
        assert "could not reach model" not in second, second
        assert _CALL.search(second), f"no successful tool call after Ctrl-C:\n{second}"
        # Wait for the prompt: keys typed while a task runs are read by the task's Ctrl-C
        # watcher (as in the other pty tests), so an early Ctrl-D would be lost.
        child.expect("baton>")
        child.sendcontrol("d")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
