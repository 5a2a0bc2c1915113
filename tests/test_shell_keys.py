"""Ctrl-C as a key while a task runs: the task is cancelled, the terminal is restored."""

from __future__ import annotations

import asyncio
import os
import signal
import termios

from agent.shell_keys import InterruptKeys


async def test_ctrl_c_on_the_terminal_calls_back_and_settings_come_back() -> None:
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        pressed = asyncio.Event()
        keys = InterruptKeys(pressed.set, fd=slave)
        keys.start()
        during = termios.tcgetattr(slave)
        assert not during[3] & termios.ISIG  # Ctrl-C is a byte now, not a signal
        os.write(master, b"x")
        await asyncio.sleep(0.05)
        assert not pressed.is_set()
        os.write(master, b"\x03")
        await asyncio.wait_for(pressed.wait(), timeout=2)
        with keys.paused():
            assert termios.tcgetattr(slave) == before  # a prompt gets the normal terminal
        assert not termios.tcgetattr(slave)[3] & termios.ISIG
        keys.stop()
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


async def test_without_a_terminal_sigint_calls_back_instead_of_raising() -> None:
    pressed = asyncio.Event()
    keys = InterruptKeys(pressed.set, fd=None)  # e.g. `baton demo --task` in CI
    keys.start()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(pressed.wait(), timeout=2)
    finally:
        keys.stop()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
