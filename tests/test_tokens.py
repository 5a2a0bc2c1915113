"""Offline token counting: seeded BPE files, verified hashes, no network (the guard is on)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent import tokens


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATON_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    return tmp_path


def _key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - tiktoken's cache key


def test_seeding_writes_tiktoken_cache_files_with_expected_hashes(fresh_cache: Path) -> None:
    target = tokens.seed_tiktoken_cache()
    assert target == fresh_cache / "tiktoken"
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(target)
    for url, sha256 in tokens._BLOBS.values():
        data = (target / _key(url)).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256


def test_tiktoken_loads_from_a_fresh_seeded_dir_without_network(fresh_cache: Path) -> None:
    # Build the encodings through tiktoken's own constructors (bypassing its in-process
    # registry), so the BPE file really is read from the fresh cache dir; any download attempt
    # would hit the socket guard.
    import tiktoken
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    tokens.seed_tiktoken_cache()
    for build in (openai_public.o200k_base, openai_public.cl100k_base):
        enc = tiktoken.Encoding(**build())
        assert enc.decode(enc.encode("hello world")) == "hello world"


def test_corrupt_cached_file_is_replaced(fresh_cache: Path) -> None:
    target = tokens.seed_tiktoken_cache()
    url, sha256 = tokens._BLOBS["cl100k_base"]
    (target / _key(url)).write_bytes(b"garbage")
    tokens.seed_tiktoken_cache()
    assert hashlib.sha256((target / _key(url)).read_bytes()).hexdigest() == sha256


def test_count_tokens_known_values(fresh_cache: Path) -> None:
    assert tokens.count_tokens("hello world") == 2
    assert tokens.count_tokens("hello world", "cl100k_base") == 2
    assert tokens.count_tokens("") == 0
    # special-token text is ordinary text, not an error
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="not available offline"):
        tokens.get_encoding("p50k_base")


def test_encoding_for_model_falls_back_to_o200k(fresh_cache: Path) -> None:
    assert tokens.encoding_for_model("gpt-4o-mini").name == "o200k_base"
    assert tokens.encoding_for_model("gpt-4").name == "cl100k_base"
    assert tokens.encoding_for_model("smollm2-135m-instruct").name == "o200k_base"
    # an old model whose encoding is not bundled is approximated, not downloaded
    assert tokens.encoding_for_model("text-davinci-003").name == "o200k_base"


def test_count_tool_tokens_grows_with_the_tools_array(fresh_cache: Path) -> None:
    one: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": "listPets",
            "description": "List all pets",
            "parameters": {"type": "object", "properties": {"limit": {"type": "integer"}}},
        },
    }
    two = {**one, "function": {**one["function"], "name": "listOwners"}}
    assert tokens.count_tool_tokens([]) == 0
    single = tokens.count_tool_tokens([one])
    assert 20 < single < 60
    assert tokens.count_tool_tokens([one, two]) > single


def test_unwritable_cache_dir_falls_back_to_a_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("BATON_CACHE_DIR", str(blocker))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    target = tokens.seed_tiktoken_cache()
    assert not str(target).startswith(str(blocker))
    assert len(list(target.iterdir())) == 2
    shutil.rmtree(target)
