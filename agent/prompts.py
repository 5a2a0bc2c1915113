"""Text written for the model, loaded from ``prompts/*.md`` once and filled by name.

Owns reading the prompt files (found by ``agent.resources``: the checkout's ``prompts/`` or the
copy bundled in a wheel) and substituting ``$placeholders``. Model-facing text
lives in those files, never in f-strings, so it can be read and tuned in one place.
``string.Template`` is used because ``$name`` cannot clash with the JSON braces that the
observations quote; a missing placeholder raises instead of sending the model a hole.
"""

from __future__ import annotations

import functools
from string import Template

from agent.resources import prompts_dir


@functools.cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md`` without its trailing newline (read once per process)."""
    return (prompts_dir() / f"{name}.md").read_text(encoding="utf-8").strip()


def render(name: str, **values: object) -> str:
    """``prompts/<name>.md`` with each ``$key`` replaced by ``str(values[key])``."""
    return Template(load_prompt(name)).substitute({k: str(v) for k, v in values.items()})
