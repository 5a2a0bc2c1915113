"""Text written for the model, loaded from ``prompts/*.md`` once and filled by name.

Owns finding the prompt files (the repository's ``prompts/`` in a checkout, the copy bundled
as ``agent/_bundled/prompts`` in a wheel) and substituting ``$placeholders``. Model-facing text
lives in those files, never in f-strings, so it can be read and tuned in one place.
``string.Template`` is used because ``$name`` cannot clash with the JSON braces that the
observations quote; a missing placeholder raises instead of sending the model a hole.
"""

from __future__ import annotations

import functools
from pathlib import Path
from string import Template

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE.parent / "prompts", _HERE / "_bundled" / "prompts")


def prompts_dir() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / "system.md").is_file():
            return candidate
    raise FileNotFoundError(f"prompt files not found in {', '.join(map(str, _CANDIDATES))}")


@functools.cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md`` without its trailing newline (read once per process)."""
    return (prompts_dir() / f"{name}.md").read_text(encoding="utf-8").strip()


def render(name: str, **values: object) -> str:
    """``prompts/<name>.md`` with each ``$key`` replaced by ``str(values[key])``."""
    return Template(load_prompt(name)).substitute({k: str(v) for k, v in values.items()})
