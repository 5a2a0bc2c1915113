"""Reading spec documents: files, URLs and dicts; JSON and YAML; the documents a spec spans.

Owns turning bytes into a parsed document (JSON first, YAML with the C loader when present),
fetching URLs with a timeout and a size cap, the ``DocumentStore`` that loads referenced files
on first use (remote ones only when allowed), and the content hash the catalog cache keys on.
It never interprets OpenAPI: that is ``tools.ingest``'s job.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx2
import yaml

from tools.errors import SpecError
from tools.model import JSONValue
from tools.refs import DICT_URI, RefError, is_url, ref_target

try:  # libyaml is several times faster; fall back to the pure-Python loader when absent
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader

# External $ref targets, found without parsing: "$ref": "file.json#..." or $ref: file.yaml#...
# The literal "$ref" first lets the regex engine skip ahead fast; local refs ("#...") never match.
_EXTERNAL_REF = re.compile(rb"""\$ref["']?\s*:\s*["']?([^"'#\s,}][^"'#\s,}]*)""")


def parse_bytes(data: bytes, label: str) -> JSONValue:
    """Parse a JSON or YAML document; SpecError with the line on syntax errors."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            return json.loads(data)  # bytes: no separate decode pass over a 20 MB file
        except RecursionError:
            raise SpecError("JSON nested too deeply to read", source=label) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if label.endswith(".json") and isinstance(exc, json.JSONDecodeError):
                raise SpecError(
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    source=label,
                ) from None
    text = data.decode("utf-8", errors="replace")
    try:
        loaded = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"invalid YAML{where}: {problem}", source=label) from None
    except RecursionError:
        raise SpecError("YAML nested too deeply to read", source=label) from None
    try:
        return _plain(loaded, {}, set())
    except RecursionError:
        raise SpecError("YAML nested too deeply to read", source=label) from None
    except _CyclicYamlError:
        raise SpecError("YAML anchors and aliases form a cycle", source=label) from None


class _CyclicYamlError(Exception):
    pass


def _plain(node: Any, seen: dict[int, Any], active: set[int]) -> JSONValue:
    """YAML values as JSON values: keys as strings (``200:`` is an int), dates as ISO text.

    YAML anchors make shared nodes; ``seen`` keeps them shared instead of expanding them, so a
    "billion laughs" document costs its size, not its expansion. An alias inside its own
    anchor (``active``) would make a cyclic document no JSON tool can walk: refused.
    """
    if isinstance(node, dict | list):
        key = id(node)
        if key in active:
            raise _CyclicYamlError
        if key in seen:
            return seen[key]
        active.add(key)
        if isinstance(node, dict):
            out: Any = {_key(k): _plain(v, seen, active) for k, v in node.items()}
        else:
            out = [_plain(v, seen, active) for v in node]
        active.discard(key)
        seen[key] = out
        return out
    if isinstance(node, datetime.date | datetime.datetime):
        return node.isoformat()
    if isinstance(node, bytes):
        return node.decode("latin-1")
    return node


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, datetime.date | datetime.datetime):
        return key.isoformat()
    return "null" if key is None else str(key)


def fetch_url(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """GET a document, streaming so a huge or endless body stops at ``max_bytes``."""
    try:
        with (
            httpx2.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url, headers={"Accept": "application/json, */*"}) as response,
        ):
            if response.status_code >= 400:
                raise SpecError(
                    f"fetching the spec failed: HTTP {response.status_code}", source=url
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SpecError(f"spec is larger than {max_bytes} bytes", source=url)
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx2.TimeoutException:
        raise SpecError(f"fetching the spec timed out after {timeout:g}s", source=url) from None
    except httpx2.HTTPError as exc:
        raise SpecError(f"fetching the spec failed: {exc}", source=url) from None


def read_file(path: str, *, max_bytes: int) -> bytes:
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise SpecError(f"spec is larger than {max_bytes} bytes", source=path)
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError("no such file", source=path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", source=path) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", source=path) from None


class DocumentStore:
    """Every document of one spec by uri: the main one, then referenced ones on first use."""

    def __init__(
        self,
        *,
        allow_remote_refs: bool = False,
        fetch_timeout: float = 10.0,
        max_bytes: int = 64_000_000,
    ) -> None:
        self.allow_remote_refs = allow_remote_refs
        self.fetch_timeout = fetch_timeout
        self.max_bytes = max_bytes
        self.main_uri = ""
        self.main_label = DICT_URI  # the source as the user wrote it
        self._docs: dict[str, JSONValue] = {}
        self._raw: dict[str, bytes] = {}

    def open_main(self, source: str | os.PathLike[str] | dict[str, Any]) -> JSONValue:
        """Load the main document and remember its uri as the base for relative refs."""
        if isinstance(source, dict):
            self.main_uri = DICT_URI
            self._docs[DICT_URI] = source
            return source
        text = os.fspath(source)
        if is_url(text):
            uri = text
            data = fetch_url(uri, timeout=self.fetch_timeout, max_bytes=self.max_bytes)
        else:
            uri = os.path.abspath(text[7:] if text.startswith("file://") else text)
            data = read_file(uri, max_bytes=self.max_bytes)
        self.main_uri = uri
        self.main_label = text
        self._raw[uri] = data
        doc = parse_bytes(data, uri)
        self._docs[uri] = doc
        return doc

    def get(self, uri: str) -> JSONValue:
        """A document by uri, loading it on first use; RefError when it cannot be had."""
        if uri in self._docs:
            return self._docs[uri]
        if is_url(uri) and not self.allow_remote_refs:
            raise RefError(
                f"remote $ref to {uri} is not followed (pass allow_remote_refs=True)", uri=uri
            )
        try:
            if is_url(uri):
                data = fetch_url(uri, timeout=self.fetch_timeout, max_bytes=self.max_bytes)
            else:
                data = read_file(uri, max_bytes=self.max_bytes)
            doc = parse_bytes(data, uri)
        except SpecError as exc:
            raise RefError(f"referenced document {uri}: {exc.message}", uri=uri) from None
        self._raw[uri] = data
        self._docs[uri] = doc
        return doc

    def label(self, uri: str) -> str:
        """A short name for messages: paths relative to the main file's folder when inside it."""
        if uri == self.main_uri:
            return self.main_label
        if is_url(uri) or uri == DICT_URI or is_url(self.main_uri):
            return uri
        base = os.path.dirname(self.main_uri) if self.main_uri != DICT_URI else os.getcwd()
        rel = os.path.relpath(uri, base)
        return uri if rel.startswith("..") else rel.replace(os.sep, "/")

    def uri_of(self, label: str) -> str:
        """The inverse of ``label``: a uri from a label (relative labels are main-relative)."""
        if label in ("", self.main_label):
            return self.main_uri
        if is_url(label) or os.path.isabs(label) or label == DICT_URI:
            return label
        base = os.path.dirname(self.main_uri) if self.main_uri != DICT_URI else os.getcwd()
        return os.path.normpath(os.path.join(base, label))

    @property
    def uris(self) -> list[str]:
        return sorted(self._docs)

    def content_hash(self) -> str:
        """sha256 over the bytes of every document read so far (main first, then by uri)."""
        digest = hashlib.sha256()
        for uri in sorted(self._raw, key=lambda u: (u != self.main_uri, u)):
            digest.update(uri.encode() if uri != self.main_uri else b"")
            digest.update(hashlib.sha256(self._raw[uri]).digest())
        return digest.hexdigest()


def spec_hash(
    source: str | os.PathLike[str] | dict[str, Any], *, max_bytes: int = 64_000_000
) -> str:
    """sha256 over the main document's bytes and every local file it references (transitively).

    Referenced files are found by scanning the raw bytes for ``$ref`` values, without parsing,
    so the cache can be checked before any real work. Remote documents are not fetched here:
    a URL source hashes its own bytes only (the cache is then keyed on the fetched content).
    """
    digest = hashlib.sha256()
    if isinstance(source, dict):
        digest.update(json.dumps(source, sort_keys=True, default=str).encode())
        return digest.hexdigest()
    text = os.fspath(source)
    if is_url(text):
        digest.update(text.encode())
        return digest.hexdigest()
    main = os.path.abspath(text[7:] if text.startswith("file://") else text)
    todo, done = [main], set[str]()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        try:
            data = read_file(path, max_bytes=max_bytes)
        except SpecError:
            if path == main:
                raise
            continue
        digest.update(path.encode() if path != main else b"")
        digest.update(hashlib.sha256(data).digest())
        for match in _EXTERNAL_REF.finditer(data):
            ref = match.group(1).decode("utf-8", "replace")
            if is_url(ref):
                continue
            try:
                todo.append(ref_target(path, ref)[0])
            except RefError:
                continue
    return digest.hexdigest()
