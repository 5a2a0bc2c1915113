"""Where Baton's bundled files live: the specs and prompts that ship with it.

Running from a checkout they are the repository's ``specs/`` and ``prompts/``; in an installed
wheel, pyproject force-includes them as ``agent/_bundled/specs`` and ``agent/_bundled/prompts``.
This module only finds them; it never reads or parses them.
"""

from __future__ import annotations

from pathlib import Path

_AGENT_DIR = Path(__file__).resolve().parent
_CHECKOUT = _AGENT_DIR.parent
_BUNDLED = _AGENT_DIR / "_bundled"


class ResourceNotFoundError(FileNotFoundError):
    """A bundled file is missing: the install is broken or the name is wrong."""


def _resource_dir(name: str) -> Path:
    # A checkout wins so that edits to specs/ take effect without reinstalling.
    for candidate in (_CHECKOUT / name, _BUNDLED / name):
        if candidate.is_dir():
            return candidate
    raise ResourceNotFoundError(
        f"bundled {name}/ not found (looked in {_CHECKOUT / name} and {_BUNDLED / name})"
    )


def specs_dir() -> Path:
    return _resource_dir("specs")


def prompts_dir() -> Path:
    return _resource_dir("prompts")


def bundled_spec(name: str) -> Path:
    """The path of a bundled spec, e.g. ``bundled_spec("demo.yaml")``."""
    path = specs_dir() / name
    if not path.is_file():
        raise ResourceNotFoundError(f"bundled spec {name!r} not found in {path.parent}")
    return path


def demo_spec() -> Path:
    return bundled_spec("demo.yaml")
