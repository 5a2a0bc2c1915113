"""A rich Console that never lets text from APIs or the model drive the user's terminal.

Tool names, URLs, observations, model text and answers reach the shell from outside; printed
raw, an ESC sequence in them can retitle the window, clear or repaint the screen, or fake a
prompt. Rich strips a few control codes but not ESC. The choke point is the rendered buffer:
rich's own styling lives in segment styles and control segments, so every other segment's text
is data and its control characters are shown as their Unicode "control pictures" (one
character for one, so rich's layout is unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

# C0 controls (but newline and tab) and DEL -> U+2400..U+2421; C1 controls -> U+FFFD.
_PICTURES = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_PICTURES[0x7F] = 0x2421
_PICTURES.update(dict.fromkeys(range(0x80, 0xA0), 0xFFFD))


def disarm(text: str) -> str:
    """``text`` with every terminal control character replaced by a visible stand-in."""
    return text.translate(_PICTURES)


class SafeConsole(Console):
    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        safe = (seg if seg.control else Segment(disarm(seg.text), seg.style) for seg in buffer)
        return super()._render_buffer(safe)
