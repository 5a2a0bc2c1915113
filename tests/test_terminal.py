from __future__ import annotations

import io

from rich.text import Text
from rich.tree import Tree

from agent.terminal import SafeConsole, disarm

HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\x9b31m done"


def test_escape_sequences_from_data_are_shown_not_obeyed() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, force_terminal=True, color_system="truecolor", width=80)
    tree = Tree("run")
    tree.add(Text(HOSTILE, style="green"))
    console.print(tree)
    console.print(HOSTILE, markup=False)
    text = out.getvalue()
    assert "\x1b]0;" not in text
    assert "\x1b[2J" not in text
    assert "\x9b" not in text
    assert "\u241b]0;pwned" in text
    assert "\x1b[32m" in text  # rich's own styling still works


def test_disarm_keeps_newlines_and_tabs_and_length() -> None:
    assert disarm("a\tb\nc") == "a\tb\nc"
    assert len(disarm(HOSTILE)) == len(HOSTILE)
