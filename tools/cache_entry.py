"""The file format of one catalog cache entry: a small index first, each tool's JSON after it.

Layout::

    {header JSON, one line}\\n
    {tool 1 JSON}{tool 2 JSON}...

The header holds the catalog's metadata and, per tool, its ``ToolBrief`` (what listing and
search read) plus the offset and length of its full JSON. Loading maps the file and parses the
header only; a tool's JSON is parsed and validated the first time the tool is used. Why: a
whole-catalog parse of Microsoft Graph's entry (100 MB: its 11k tools each carry the schemas
they reach) takes seconds, while its header parses in a fraction of a ``json.load`` of the spec.

JSON, not pickle: a cache file that someone else altered must not be able to run code. The
file is written atomically and checked for truncation on load; any damage means "rebuild".
"""

from __future__ import annotations

import functools
import json
import mmap
import os
import tempfile
from pathlib import Path

from tools.catalog import CATALOG_FORMAT, Catalog, SchemaResolver, ToolLoader, metadata_from_json
from tools.errors import SpecError
from tools.model import Tool
from tools.search import ToolBrief

ENTRY_VERSION = 2


def write_entry(entry: Path, catalog: Catalog) -> None:
    """Write atomically; a cache that cannot be written (read-only home) is not an error."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=entry.name, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(encode(catalog))
        os.replace(tmp, entry)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def encode(catalog: Catalog) -> bytes:
    blobs: list[bytes] = []
    index: list[list[object]] = []
    offset = 0
    for tool in catalog:
        blob = tool.model_dump_json(exclude_defaults=True).encode()
        index.append([*catalog.brief(tool.name), offset, len(blob)])
        blobs.append(blob)
        offset += len(blob)
    header = {**catalog.metadata_json(), "entry": ENTRY_VERSION, "size": offset, "tools": index}
    # ensure_ascii keeps the header free of raw newlines and of multi-byte surprises.
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + b"".join(blobs)


def read_entry(entry: Path, resolver: SchemaResolver | None = None) -> Catalog | None:
    """The cached catalog, or None when absent, unreadable, of another version or damaged."""
    try:
        with entry.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    try:
        return _decode(data, entry, resolver)
    except Exception:  # any damage to a cache entry means "rebuild it"
        data.close()
        entry.unlink(missing_ok=True)
        return None


def _decode(data: mmap.mmap, entry: Path, resolver: SchemaResolver | None) -> Catalog:
    end = data.find(b"\n")
    header = json.loads(data[:end])
    if header["format"] != CATALOG_FORMAT or header["entry"] != ENTRY_VERSION:
        raise ValueError("cache entry of another version")
    base = end + 1
    if len(data) != base + header["size"]:
        raise ValueError("truncated cache entry")
    entries: list[tuple[ToolBrief, ToolLoader]] = []
    for row in header["tools"]:
        *fields, offset, length = row
        name, op_id, method, path, side_effect, summary, description, tags, params = fields
        brief = ToolBrief(
            name, op_id, method, path, side_effect, summary, description, tuple(tags), tuple(params)
        )
        load = functools.partial(_load_tool, data, base + offset, length, entry)
        entries.append((brief, load))
    return Catalog.from_briefs(entries, **metadata_from_json(header), schema_resolver=resolver)


def _load_tool(data: mmap.mmap, start: int, length: int, entry: Path) -> Tool:
    try:
        return Tool.model_validate_json(data[start : start + length])
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        entry.unlink(missing_ok=True)
        raise SpecError(
            f"damaged catalog cache entry {entry} ({exc.__class__.__name__}); it was removed, "
            "run again to rebuild it"
        ) from None
