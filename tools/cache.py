"""The on-disk cache of Baton: where it lives.

Catalog caching (``load_catalog``) lands here next, once the ingester does.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$BATON_CACHE_DIR`` if set, else ``~/.cache/baton`` (XDG_CACHE_HOME honoured)."""
    env = os.environ.get("BATON_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "baton"
